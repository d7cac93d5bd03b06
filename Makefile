# Two commands for a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

# llama-cpp-python is source-only on PyPI. A native build (-march=native) can emit AMX
# instructions that some VMs and CPUs reject with SIGILL, so we name the instruction sets
# ourselves: AVX2 everywhere, AVX-512 only where the CPU reports it. The wheel is built
# once per flag set into a cache dir outside the repo (8-17 min on 2 cores), then reused.
LLAMA_VERSION := 0.3.36
AVX512 := $(shell grep -q avx512f /proc/cpuinfo 2>/dev/null && echo ON || echo OFF)
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=$(AVX512) -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
WHEELS := $(HOME)/.cache/laidub/wheels/llama-$(LLAMA_VERSION)-avx512-$(AVX512)

.PHONY: install run test test-fast clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	@if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo "Building llama-cpp-python $(LLAMA_VERSION) once (8-17 minutes on 2 cores)..."; \
	  mkdir -p $(WHEELS) && CMAKE_ARGS="$(LLAMA_CMAKE)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	    $(PY) -m pip wheel --no-cache-dir --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_VERSION); \
	fi
	$(PY) -m pip install --find-links $(WHEELS) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/laidub serve

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not e2e and not browser and not server and not crash"

clean:
	rm -rf $(VENV) .pytest_cache
