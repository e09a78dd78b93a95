# From Waveforms to Genres - the two commands are `make course` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# `make venv GPU=1`: TensorFlow with its CUDA libraries (pyproject.toml's extra `gpu`, Linux with an NVIDIA GPU)
# instead of the CPU build (extra `tf`). The two builds don't mix in one environment: each has its own stamp, GPU
# defaults to the build $(VENV) already has, and switching means removing $(VENV) first.
GPU ?= $(if $(wildcard $(VENV)/.installed-gpu),1,0)
TF_EXTRA := $(if $(filter 1,$(GPU)),gpu,tf)
STAMP := $(VENV)/.installed$(if $(filter gpu,$(TF_EXTRA)),-gpu)
OTHER_STAMP := $(VENV)/.installed$(if $(filter gpu,$(TF_EXTRA)),,-gpu)
export COURSE_DATA_DIR ?= $(CURDIR)/data
# absolute, so a relative setting (COURSE_DATA_DIR=../shared/data) means the same folder to the
# notebooks, whose kernels start in notebooks/
override COURSE_DATA_DIR := $(abspath $(COURSE_DATA_DIR))
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# tensorflow: keep its start-up chatter out of notebooks and logs
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONHASHSEED ?= 0
# the check cells of `make test` also run each exercise's collapsed solution with the notebook's state and stop
# if it fails its check (helpers/check.py); learners never set it, so their checks say "no answer yet"
TEST_ENV := COURSE_CHECK_SOLUTIONS=1

.PHONY: help venv course test test-portable unit nbval data bundle lab bench fork site student teacher clean

help:
	@echo "make course  - set up .venv, fetch missing data, run every notebook into build/ (ipynb + html)"
	@echo "make test    - set up .venv, run the unit tests and pytest --nbval on every notebook"
	@echo "make test-portable - the notebook checks again, as on another machine (CPU one step lower, MPLBACKEND=Agg)"
	@echo "make data    - download the public data sets into \$$COURSE_DATA_DIR (default ./data)"
	@echo "make data BUNDLE=build/course-data-X.tar - the same from an offline bundle (checksums verified, nothing downloaded)"
	@echo "make bundle  - write build/course-data-<version>.tar: the data the CI-size course needs, with SHA256SUMS"
	@echo "make lab     - open JupyterLab on the notebooks"
	@echo "make bench   - run the benchmarks in benchmarks/"
	@echo "make student - learner copies of the notebooks in build/student/: no solutions, no outputs"
	@echo "make teacher - the teacher's copy in build/teacher/: every solution inline and executed"
	@echo "make site    - the course website from the executed notebooks into build/site/ (installs the docs extra)"
	@echo "make venv GPU=1 - TensorFlow with CUDA (Linux, NVIDIA GPU) instead of the CPU build"
	@echo "make fork REPO=owner/name - point every notebook's Colab cell and badge at your fork"
	@echo "data directory: $(COURSE_DATA_DIR)"

# pyproject.toml is the one list of dependencies (requirements.txt and environment.yml install the same extras);
# uv installs them (the same releases as pip, in a fifth of the time: issue 31), pip where uv cannot (it does not read
# pip's configuration, so a package mirror set only there is pip's alone)
$(STAMP): pyproject.toml
	@if [ -e $(OTHER_STAMP) ]; then \
	  echo "$(VENV) has the other TensorFlow build ($(OTHER_STAMP)); they don't mix." >&2; \
	  echo "rm -rf $(VENV), then make venv$(if $(filter gpu,$(TF_EXTRA)), GPU=1)" >&2; exit 1; fi
	@if [ $(TF_EXTRA) = gpu ] && [ "$$(uname -s)" != Linux ]; then \
	  echo "GPU=1: TensorFlow's CUDA build is for Linux only; use make venv (CPU) here" >&2; exit 1; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[$(TF_EXTRA),scale,test]" \
	  || $(BIN)/python -m pip install --quiet -e ".[$(TF_EXTRA),scale,test]"
	@touch $(STAMP)

venv: $(STAMP)

# BUNDLE=archive (make bundle wrote it): verified and unpacked first, so the fetch below finds everything present;
# a damaged or foreign archive, or a file here that differs from the bundle's copy, stops it with one line
data: $(STAMP)
	$(if $(BUNDLE),$(BIN)/python tools/bundle.py unpack "$(BUNDLE)")
	$(BIN)/python -m machinery.data fetch --make-data

# the offline data bundle (tools/bundle.py): read from the data directory, which must be CI-size (see tools/ci_subset.py)
bundle: $(STAMP)
	$(BIN)/python tools/bundle.py create

# two pytest workers (pytest-xdist), each taking whole files in collection order, the longest first (LONGEST_FIRST in
# tests/conftest.py; not xdist's reordering by number of tests); the numba warm-up first compiles librosa's cached
# functions in one process, so kernels that start together only read the cache (numba/numba#10128, issue 31).
# Three workers showed no clear gain on 2 cores (the work is CPU-bound; command-line tests that start TensorFlow
# in a subprocess ran 2-5x slower beside two kernels). JOBS=1 runs everything in one process, one file after the other.
JOBS ?= 2
PYTEST_JOBS := $(if $(filter 1,$(JOBS)),-p no:xdist,-n $(JOBS) --dist loadfile --no-loadscope-reorder)
# with workers, each process (and each notebook's kernel) keeps OpenBLAS to one thread: OpenBLAS's threads wait for
# work by spinning, and two workers' spinning threads took the cores from each other's work (notebook 09's logistic
# regressions ran 4x slower beside a training notebook; issue 31). TensorFlow keeps its own threads.
ifneq ($(JOBS),1)
TEST_ENV += OPENBLAS_NUM_THREADS=1
endif

# the portable profile's warm-up runs beside this one (its numba code has a cache folder of its own), so that
# `make test-portable` afterwards finds its cache warm too
test: $(STAMP)
	$(BIN)/ruff check helpers machinery tools benchmarks tests
	$(BIN)/python tools/portable_profile.py $(BIN)/python tools/numba_warmup.py & portable=$$!; \
	  $(BIN)/python tools/numba_warmup.py || { wait $$portable; exit 1; }; wait $$portable
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_JOBS) --nbval --durations=20 $(NOTEBOOKS) tests

# the notebook checks again under tools/portable_profile.py: this CPU's instruction set one step lower
# (AVX-512 -> AVX2 -> SSE4.1) for NumPy, oneDNN and numba, TensorFlow's oneDNN switched the other way and
# MPLBACKEND=Agg, so an output that only this machine prints fails here and not on a learner's machine
test-portable: $(STAMP)
	$(BIN)/python tools/portable_profile.py $(BIN)/python tools/numba_warmup.py
	$(TEST_ENV) $(BIN)/python tools/portable_profile.py $(BIN)/python -m pytest $(PYTEST_JOBS) --nbval --durations=20 \
	  $(NOTEBOOKS)

unit: $(STAMP)
	$(BIN)/python -m pytest tests

nbval: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest --nbval $(NOTEBOOKS)

course: $(STAMP)
	$(BIN)/python -m machinery.data fetch --make-data
	@mkdir -p build/notebooks build/html
	@set -e; for nb in $(NOTEBOOKS); do \
	  echo "== running $$nb"; \
	  COURSE_NO_WIDGETS=1 $(BIN)/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=1800 \
	    --output-dir build/notebooks "$$nb"; \
	  $(BIN)/jupyter nbconvert --to html --output-dir build/html "build/notebooks/$$(basename $$nb)"; \
	done
	@echo "executed notebooks: build/notebooks/   html: build/html/"

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	@set -e; for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python "$$b"; done

# the Colab setup cell and the "Open in Colab" badges are made from one address (tools/colab_cell.py)
fork: $(STAMP)
	@test -n "$(REPO)" || { echo "usage: make fork REPO=owner/name" >&2; exit 2; }
	$(BIN)/python tools/colab_cell.py --repo "$(REPO)"

# the course website (site/build.py, Sphinx + myst-nb): the committed notebooks' outputs, nothing is run again
$(VENV)/.installed-docs: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	@touch $@

site: $(VENV)/.installed-docs
	$(BIN)/python site/build.py

# the committed notebooks are the learner's copy (issue 30): each exercise's solution is a collapsed block after its
# check, never run by Run All. `make student` also clears the outputs and drops those blocks (for a room that should
# not see the solutions); `make teacher` puts every solution back inline, before its check, and runs the notebooks
student: $(STAMP)
	@mkdir -p build/student
	$(BIN)/jupyter nbconvert --to notebook --log-level=WARN --output-dir build/student \
	  --ClearOutputPreprocessor.enabled=True --TagRemovePreprocessor.enabled=True \
	  --TagRemovePreprocessor.remove_cell_tags='["solution"]' $(NOTEBOOKS)
	@echo "learner notebooks: build/student/"

teacher: $(STAMP)
	$(BIN)/python tools/teacher_copy.py --out build/teacher
	@echo "teacher's notebooks (solutions inline, executed): build/teacher/"

clean:
	rm -rf build .pytest_cache
