"""Embedding an ingest on a real Ray cluster: a head and a second worker node started on this machine, a real
`chroma run` server, the CLI through subprocess, a worker killed with SIGKILL mid-ingest; `--ray local`; an
address where nothing answers. (That the ordinary path never imports Ray is tests/test_batch.py's.)"""

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import free_port
from vectorstore.records import lexical_row
from vectorstore.store import ChromaStore

pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).parent / "ray"
# Each run's own token, for the nodes and the drivers alike: a Ray started earlier on the machine leaves a token
# in ~/.ray that later clusters would turn on by themselves.
AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"}
CHUNKING = ["--chunk-size", "64", "--chunk-overlap", "8"]  # short passages: many groups, quickly embedded
TOPICS = ["tramway", "reservoir", "granary", "observatory", "shipyard", "vineyard", "foundry", "ferry"]


def write_articles(folder: Path, count: int, paragraphs: int) -> Path:
    folder.mkdir(parents=True)
    for a in range(count):
        body = "\n\n".join(
            f"In district {a}, the {TOPICS[(a + p) % 8]} board met on day {p} and approved budget line {a * 97 + p}, "
            f"after {p + 3} residents of ward {a}-{p} asked for repairs to the {TOPICS[(a * p) % 8]} by spring."
            for p in range(paragraphs)
        )
        (folder / f"district-{a:02}.md").write_text(f"# District {a} Board Minutes\n\n{body}\n")
    return folder


def ingest(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", *args, *CHUNKING],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def descendants(root: int) -> dict[int, str]:
    """{pid: command line} of the processes below `root`."""
    table = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in table.splitlines()]
    children: dict[int, list[tuple[int, str]]] = {}
    for pid, parent, *args in rows:
        children.setdefault(int(parent), []).append((int(pid), args[0] if args else ""))
    found, todo = {}, [root]
    while todo:
        for pid, args in children.get(todo.pop(), []):
            found[pid] = args
            todo.append(pid)
    return found


def workers(nodes: list[subprocess.Popen]) -> set[int]:
    """The Ray actors embedding for an ingest on these nodes (their title is ray::Encoder)."""
    return {pid for node in nodes for pid, args in descendants(node.pid).items() if args.startswith("ray::Encoder")}


@pytest.fixture(scope="module")
def cluster():
    """A head node and a second worker node, one CPU each, as `ray start --block` children (stopping them stops
    only their own processes); the address a driver joins."""
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths under it must stay < 108 bytes
    port = free_port()
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=200000000", "--block"]
    env = {**os.environ, **AUTH}
    head = [str(RAY), "start", "--head", f"--port={port}", f"--ray-client-server-port={free_port()}"]
    nodes = [
        subprocess.Popen(
            [*head, f"--temp-dir={temp}", "--include-dashboard=false", *common],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    deadline = time.monotonic() + 60
    while not (Path(temp) / "ray_current_cluster").exists():  # written once the head is up
        assert nodes[0].poll() is None and time.monotonic() < deadline, "the Ray head did not start"
        time.sleep(0.2)
    nodes.append(
        subprocess.Popen(
            [str(RAY), "start", f"--address=127.0.0.1:{port}", *common],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    address = f"127.0.0.1:{port}"
    count = f"import ray; ray.init(address={address!r}); print(int(ray.cluster_resources().get('CPU', 0)))"
    while subprocess.run([sys.executable, "-c", count], env=env, capture_output=True, text=True).stdout != "2\n":
        assert time.monotonic() < deadline + 60, "the second Ray node did not join"
        time.sleep(1)
    yield address, nodes
    for node in reversed(nodes):  # the worker node first, then the head
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=60)
    shutil.rmtree(temp, ignore_errors=True)


def test_an_ingest_embedded_on_a_two_node_cluster_loses_nothing_to_a_killed_worker(
    cluster, chroma_server, tmp_path, minilm
):
    cluster, nodes = cluster
    chroma_server.wipe()
    folder = write_articles(tmp_path / "minutes", count=40, paragraphs=50)  # about 8 groups of passages
    where = ["--chroma-url", chroma_server.url, "--store", str(tmp_path / "store")]
    run = ingest(str(folder), *where, "--ray", cluster, env=AUTH)
    seen, killed, lines = [], None, []

    def watch():
        while run.poll() is None:
            seen.append(workers(nodes))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    for line in run.stdout:
        lines.append(line)
        if killed is None and line.startswith("added") and seen[-1]:  # later groups are at the workers now
            killed, before = min(seen[-1]), len(seen)
            os.kill(killed, signal.SIGKILL)
    err = run.stderr.read()
    assert run.wait() == 0, err
    watcher.join()
    assert "embedding on Ray (" + cluster + "): 2 workers on 2 nodes" in err and "Traceback" not in err
    assert killed is not None and set().union(*seen[before:]) - set(seen[before - 1])  # Ray started it again
    assert sum(line.startswith("added") for line in lines) == 40
    # Ray says a task is retried on stdout too ("(raylet) Task Encoder.embed failed…"); the tally is the last word.
    tally = [line for line in lines if line.startswith("40 articles:")]
    assert re.search(r"40 added.*embedded in [\d.]+s \([\d.]+ articles/s, \d+ chunks/s\)", tally[-1])
    # What the cluster embedded is what this process embeds, and the library is whole.
    store = ChromaStore(tmp_path / "check", {"embedder": minilm.name, "dimensions": minilm.dim}, chroma_server.url)
    assert store.consistency.check() == [] and store.records.counts()[0] == 40
    for record in store.records.articles()[::13]:
        article, _ = store.records.load_article(record.id)
        got = store.handle.chunks.get(where={"article_id": record.id}, include=["metadatas", "embeddings"])
        texts = [lexical_row(i, article.text, m)[3] for i, m in zip(got["ids"], got["metadatas"])]
        assert len(texts) == record.chunks
        assert np.allclose(got["embeddings"], minilm.embed_bulk(texts), atol=2e-3)


def test_ray_local_starts_a_cluster_for_the_run_and_stops_it(tmp_path):
    folder = write_articles(tmp_path / "minutes", count=3, paragraphs=4)
    run = ingest(str(folder), "--store", str(tmp_path / "store"), env={"DOSSIER_RAY": "local"})
    started = {}
    while run.poll() is None:
        started.update(descendants(run.pid))
        time.sleep(0.2)
    out, err = run.communicate()
    assert run.returncode == 0, err
    assert "embedding on Ray (local): 2 workers on 1 node" in err
    assert sum(line.startswith("added") for line in out.splitlines()) == 3
    assert any("raylet" in args for args in started.values())  # the run's own Ray…
    time.sleep(2)
    assert not set(started) & set(descendants(0))  # …is gone with it (0: the parent of every process)


def test_an_address_where_no_cluster_answers_is_one_line_at_once(tmp_path):
    folder = write_articles(tmp_path / "minutes", count=1, paragraphs=2)
    started = time.monotonic()
    run = ingest(str(folder), "--store", str(tmp_path / "store"), "--ray", f"127.0.0.1:{free_port()}")
    out, err = run.communicate(timeout=120)
    assert run.returncode == 2 and time.monotonic() - started < 30
    assert err.startswith("error: Ray cluster 127.0.0.1:") and "nothing answers there" in err
    assert len(err.strip().splitlines()) == 1 and "added" not in out
