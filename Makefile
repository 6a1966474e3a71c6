# Two commands for users (see README): `make demo` and `make test`.
# Both create .venv on first use and install the pinned CPU dependencies.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.flowcheck-installed

.PHONY: demo test setup clean-venv

$(STAMP): pyproject.toml requirements/cpu-lock.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/cpu-lock.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: $(STAMP)

# The main job: accuracy of the reference model, then the whole claims suite on it.
# `flowcheck run` exits 1 when a claim fails (a finding, reported); only errors (2) stop make.
demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/flowcheck reference eval --model reference
	HF_HUB_OFFLINE=1 $(VENV)/bin/flowcheck run --model reference --out reports/demo; \
	  rc=$$?; test $$rc -le 1

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
