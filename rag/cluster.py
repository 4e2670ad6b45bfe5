"""Embedding an ingest on a Ray cluster: `python -m ingest PATH --ray local|ADDRESS` ($DOSSIER_RAY).

This process (the driver) parses and chunks the articles and keeps the store's single-writer lease. The chunks'
texts go in groups to Ray actors, one per free CPU of the cluster, each of which loads the bundled model once;
the vectors come back to the driver, which stores each group while the actors embed the next ones
(rag.ingestion.Batch keeps `in_flight` groups sent). A worker killed mid-group is restarted by Ray and its groups
run again; a killed driver leaves the store as any killed ingest does, rolled back by the next writer.

Plain actors rather than Ray Data's actor pool: on this 2-core machine the pool took 53 s for 1 500 passages that
two actors embedded in 39 s (start-up included), and returned its first vectors after 27 s. Ray is imported only
here, and the cluster joined only when the first group is sent, so a run with nothing to embed starts nothing.
"""

import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from dossier_core.errors import DossierError
from vectorstore.embedder import Embedder, MiniLMEmbedder

ROOT = Path(__file__).resolve().parents[1]  # on the workers' path: a cluster on this machine runs this tree
RESTARTS = 3  # times a killed worker is started again, its groups redone, before its group fails
SENT_PER_WORKER = 2  # groups waiting at each worker, so none idles while the driver stores
READY_SECONDS = 300  # for the workers to start and load the model
HOW = (
    "start one with `ray start --head`, give its address (auto, HOST:6379 or ray://HOST:10001; a cluster with "
    "token auth also needs RAY_AUTH_MODE=token), or use --ray local"
)


class Encoder:
    """A Ray actor: the bundled model, loaded once, embedding with the CPU share Ray gives it."""

    def __init__(self, runtime: str):
        self._embedder = MiniLMEmbedder(runtime)
        self._embedder.embed_bulk(["."])  # load the model now, not inside the first group's time

    def ready(self) -> bool:
        return True

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._embedder.embed_bulk(texts)


class ClusterEmbedder(Embedder):
    """An ingest's chunks embedded by a Ray cluster's workers, joined when the first group is sent; questions and
    token counts stay in this process."""

    def __init__(self, address: str, runtime: str, cache: str | None, on_join: Callable[[str], None]):
        self._local = MiniLMEmbedder(runtime, cache)
        self.name, self.dim, self.max_tokens = self._local.name, self._local.dim, self._local.max_tokens
        self.address = address
        self.started = False  # Ray, by this process: stopped (or left) when the run ends
        self._on_join = on_join
        self._workers: list = []
        self._sent = 0

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        return self._local.embed_batch(texts)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self._local.count_tokens(texts)

    def embed_bulk(self, texts: list[str]) -> np.ndarray:
        return self.submit(texts)()

    def submit(self, texts: list[str]) -> Callable[[], np.ndarray]:
        import ray

        if not self._workers:
            self._join(ray)
        worker = self._workers[self._sent % len(self._workers)]  # groups are about equal: round robin
        self._sent += 1
        sent = worker.embed.remote(texts)

        def vectors() -> np.ndarray:
            try:
                return np.asarray(ray.get(sent), dtype=np.float32)
            except ray.exceptions.RayError as e:
                raise DossierError(f"Ray cluster {self.address}: {_said(e)}") from None

        return vectors

    def _join(self, ray) -> None:
        try:
            ray.init(
                address=self.address,
                runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
                logging_level=logging.ERROR,
                log_to_driver=False,
                **({"include_dashboard": False} if self.address == "local" else {}),
            )
        except Exception as e:  # noqa: BLE001 — Ray raises many kinds (connection, auth, version): one line each
            raise DossierError(f"Ray cluster {self.address}: cannot join it ({_said(e)}); {HOW}") from None
        self.started = True
        cpus = int(ray.available_resources().get("CPU", 0))
        if cpus < 1:
            raise DossierError(f"Ray cluster {self.address}: no CPU is free; wait for its other jobs, or add nodes")
        actor = ray.remote(num_cpus=1, max_restarts=RESTARTS, max_task_retries=RESTARTS)(Encoder)
        workers = [actor.remote(self._local.runtime) for _ in range(cpus)]
        ready, _ = ray.wait([w.ready.remote() for w in workers], num_returns=cpus, timeout=READY_SECONDS)
        try:
            ray.get(ready)
        except ray.exceptions.RayError as e:
            raise DossierError(
                f"Ray cluster {self.address}: a worker cannot start ({_said(e)}); every node needs Dossier's "
                "environment (the same packages and model)"
            ) from None
        if len(ready) < cpus:
            raise DossierError(f"Ray cluster {self.address}: its workers did not start in {READY_SECONDS} s")
        self._workers = workers
        self.in_flight = SENT_PER_WORKER * cpus
        nodes = sum(n["Alive"] for n in ray.nodes())
        self._on_join(f"embedding on Ray ({self.address}): {cpus} workers on {nodes} node{'s' * (nodes != 1)}")


@contextmanager
def on_cluster(
    address: str, runtime: str = "auto", cache: str | None = None, on_join: Callable[[str], None] = print
) -> Iterator[ClusterEmbedder]:
    """An embedder whose workers are Ray actors on the cluster at `address` ("local": a Ray started on this
    machine for the run and stopped after; "auto", "HOST:PORT" or "ray://HOST:10001": an existing cluster, left
    running). `on_join(line)` hears how many workers joined."""
    _reachable(address)
    embedder = ClusterEmbedder(address, runtime, cache, on_join)
    try:
        yield embedder
    finally:
        if embedder.started:
            import ray

            ray.shutdown()


def _said(error: Exception) -> str:
    """What Ray said, in one line: a task's error ends with the exception the worker raised."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    return lines[-1] if type(error).__name__ == "RayTaskError" or "Traceback" in str(error) else lines[0]


def _reachable(address: str) -> None:
    """Refuse at once an address where nothing listens: Ray itself retries for minutes."""
    if address in ("local", "auto"):
        return
    client = address.startswith("ray://")
    where = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        port = where.port or (10001 if client else 6379)
        socket.create_connection((where.hostname or "", port), timeout=5).close()
    except (OSError, ValueError) as e:
        raise DossierError(f"Ray cluster {address}: nothing answers there ({e}); {HOW}") from None
