# Two commands on a fresh machine:  `make run` (the default study) and `make test`.
VENV    := .venv
PYTHON  := $(VENV)/bin/python
CORES   ?= 2
# Jobs call `python -m ban`: the virtual environment comes first on PATH, as if activated.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup data run regimes test test-fast lint bench clean-results

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

data: setup
	bash scripts/setup_data.sh data

run: setup data
	snakemake --workflow-profile workflow/profiles/default --cores $(CORES)
	@$(PYTHON) -m ban summary --configfile config.yaml

# The regime maps of configs/regimes.yaml (hours on 2 cores), each sweep's map and its cells' claims.md,
# claims.json, scores.csv and table.md then copied into docs/regimes/<sweep>/ (python -m ban publish).
REGIME_SWEEPS := pixels cnn_noise cnn_clean
regimes: setup data
	snakemake --configfile configs/regimes.yaml --workflow-profile workflow/profiles/default --cores $(CORES)
	for sweep in $(REGIME_SWEEPS); do $(PYTHON) -m ban publish --sweep $$sweep --to docs/regimes/$$sweep || exit 1; done

# One pytest worker per core (pytest-xdist), each test file on one worker: its module fixtures
# (the SLURM cluster, the finished tiny study) are set up once per worker that needs them.
test: setup data
	$(PYTHON) -m pytest -q -n $(CORES) --dist loadfile --durations=25

# The tests that run no Snakemake, no benchmark and no fresh torch process (tests/conftest.py marks
# tests/workflow/, tests/bench/ and torch_process tests slow): about a minute on 2 idle cores.
test-fast: setup data
	$(PYTHON) -m pytest -q -m "not slow" -n $(CORES) --dist loadfile

lint: setup
	snakemake --lint
	snakefmt --check Snakefile workflow/
	ruff check .

bench: setup data
	$(PYTHON) bench/train_speed.py

# Results only: the store keeps every trained spec, so a rerun restores them in seconds.
# `python -m ban store --prune --yes` deletes the store entries no member folder uses.
clean-results:
	rm -rf results logs
