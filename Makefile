# Two commands for users (see README): `make demo` and `make test`.
# Both create .venv on first use and install the pinned CPU dependencies.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.flowcheck-installed

.PHONY: demo sensitivity power gpu-check gate-ladder trend-demo noise test test-fast setup clean-venv

$(STAMP): pyproject.toml requirements/cpu-lock.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/cpu-lock.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: $(STAMP)

# The main job: accuracy of the three shipped models (the plain reference model and the two
# route-shaped controls), the whole claims suite on each, and one claim x model table.
# `flowcheck run` exits 1 when a claim fails (a finding, reported); only errors (2) stop make.
# `make demo REPORT=reports/reference` re-creates the committed reports.
REPORT ?= reports/demo
RUNS := natural:reference paper-route:paper-route direct-route:direct-route
FC := HF_HUB_OFFLINE=1 $(VENV)/bin/flowcheck

demo: $(STAMP)
	@for run in $(RUNS); do $(FC) reference eval --model $${run#*:} || exit $$?; done
	@for run in $(RUNS); do label=$${run%%:*}; model=$${run#*:}; \
	  echo "== flowcheck run --model $$model --out $(REPORT)/$$label"; \
	  $(FC) run --model $$model --out $(REPORT)/$$label > /dev/null; rc=$$?; \
	  test $$rc -le 1 || exit $$rc; done
	$(FC) matrix natural=$(REPORT)/natural paper-route=$(REPORT)/paper-route \
	  direct-route=$(REPORT)/direct-route --out $(REPORT)

# Verdict and margin vs samples per task (10/30/100, re-judged from the k=3 runs) and vs the
# window size k (1, 3, 5): needs `make demo REPORT=reports/reference` first.
MAIN_CLAIMS := image_to_question_early,question_to_last_middle,image_to_last_small,other_patches_early_related_middle
sensitivity: $(STAMP)
	@for model in paper-route direct-route; do for k in 1 5; do \
	  $(FC) run --model $$model --window $$k --max-samples 100 --claims $(MAIN_CLAIMS) \
	    --out runs/sensitivity/$$model-k$$k > /dev/null; rc=$$?; test $$rc -le 1 || exit $$rc; \
	done; done
	$(FC) sensitivity reports/reference/paper-route reports/reference/direct-route \
	  runs/sensitivity/*-k1 runs/sensitivity/*-k5 --out reports/reference/sensitivity.md

# Effect size at which each claim's verdict turns from fails through uncertain to holds, per n
# (paper-route effects scaled toward zero plus the natural model's per-sample spread; no model).
power: $(STAMP)
	$(FC) power reports/reference/paper-route reports/reference/natural \
	  --out reports/reference/power.md > /dev/null

# The GPU lane on a machine with a CUDA GPU (and a CUDA build of torch: docs/gpu.md, Running on
# a GPU): GPU tests + full-width engine benchmarks, figures in reports/gpu-check/gpu-check.json.
gpu-check: $(STAMP)
	$(FC) gpu-check --out reports/gpu-check

# A checkpoint timeline: paper-route with the attention of layers 5-9 (where its question->last
# route runs) scaled by 1, 0.66, 0.33 and 0 (examples/zero_middle_attention.py), 20 samples per
# task each, then `flowcheck trend` -> $(REPORT)/trend/trend.html (README: "A series of checkpoints").
TREND_SCALES := 1 0.66 0.33 0
trend-demo: $(STAMP)
	@for s in $(TREND_SCALES); do \
	  $(PY) examples/zero_middle_attention.py --model paper-route --first 5 --last 9 --scale $$s \
	    --out runs/trend/model-$$s > /dev/null || exit $$?; \
	  $(FC) run --model runs/trend/model-$$s --max-samples 20 --out runs/trend/run-$$s > /dev/null; \
	  rc=$$?; test $$rc -le 1 || exit $$rc; done
	$(FC) trend $(foreach s,$(TREND_SCALES),x$(s)=runs/trend/run-$(s)) --out $(REPORT)/trend

# How far to trust the gate: eight edits of paper-route (no-op, mild, breaking) compared with
# the committed paper-route run on draws of 10, 20 and 50 samples per task; writes
# reports/reference/gate-ladder.{md,json} and the README table (README: "How far to trust the gate").
gate-ladder: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) examples/gate_ladder.py

test: $(STAMP)
	$(VENV)/bin/ruff check flowcheck tests examples
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q $(PYTEST_ARGS)

# The fast tier (pure and pytester tests, no model run): under a minute.
test-fast: $(STAMP)
	$(VENV)/bin/ruff check flowcheck tests examples
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -m fast $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)

# Float noise of the stored numbers: the three shipped models measured four ways that
# should agree (2 vs 1 threads, sdpa vs eager attention, fast vs exact engine), each pair
# compared number by number (`flowcheck compare --noise`). docs/trust.md: "Snapshots and float noise".
NOISE ?= runs/noise
NOISE_CONFIGS := fast-sdpa-t2:--threads=2 fast-sdpa-t1:--threads=1 \
  fast-eager-t2:--attn=eager_--threads=2 exact-eager-t2:--engine=exact_--threads=2
noise: $(STAMP)
	@for model in reference paper-route direct-route; do for cfg in $(NOISE_CONFIGS); do \
	  name=$${cfg%%:*}; opts=$$(echo $${cfg#*:} | tr _ ' '); \
	  echo "== $$model $$name"; \
	  $(FC) run --model $$model $$opts --out $(NOISE)/$$model/$$name > /dev/null; rc=$$?; \
	  test $$rc -le 1 || exit $$rc; done; done
	@for model in reference paper-route direct-route; do \
	  for b in fast-sdpa-t1 fast-eager-t2 exact-eager-t2; do \
	    $(FC) compare --noise $(NOISE)/$$model/fast-sdpa-t2 $(NOISE)/$$model/$$b; done; done
