# Grace: every target sets itself up (virtualenv, model) as needed.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
RASA := TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1 $(BIN)/rasa
STAMP := $(VENV)/.installed
MODEL := models/grace.tar.gz
# The held-out gate's floors: the targets (weighted intent F1 0.95, every intent 0.85, entities 0.90).
NLU_FLOORS ?= --weighted-f1 0.95 --intent-f1 0.85 --entity-f1 0.90
# The share of end-to-end stories that must pass per business: all of them.
STORY_FLOOR ?= 1.0
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null)
export PYTHONPATH := $(CURDIR)
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: install train test run shell lint types validate unit services-tests conversations nlu-eval e2e bench profile clean \
	services browser migrate learn tune-fallback run-scaled scale tesseract

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt scripts/find-python
	@PY=$$(scripts/find-python) || exit 1; \
	  [ -x $(PY) ] || $$PY -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.2 wheel
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(MODEL): $(STAMP) $(TRAINING_INPUTS)
	$(RASA) train --fixed-model-name grace --out models --augmentation 10
	@touch $(MODEL)

train: $(MODEL)

validate: $(STAMP)
	$(PY) -m grace.run.cli tenants check
	$(RASA) data validate --fail-on-warnings

# PostgreSQL and Redis (scale-out tests) and Chromium (dashboard browser tests), started or installed if missing.
services:
	@scripts/ensure-services

browser:
	@scripts/ensure-chromium

# Debian's Tesseract: proof pictures are read with it (the unit tests read drawn receipts too).
tesseract:
	@scripts/ensure-tesseract

# The fast loop: no PostgreSQL, Redis or Chromium needed.
unit: $(STAMP) tesseract
	$(PY) -m pytest -q -m "not services" tests --ignore=tests/e2e --ignore=tests/scale --ignore=tests/security

# The tests that reach this machine's PostgreSQL, Redis or Chromium (marked in tests/conftest.py).
services-tests: $(STAMP) services browser
	$(PY) -m pytest -q -m services tests --ignore=tests/e2e --ignore=tests/scale --ignore=tests/security

# End-to-end test stories (customers' text) per business: every one must pass.
conversations: $(MODEL)
	rm -rf results/conversations
	$(PY) -m tests.conversations --min-share $(STORY_FLOOR)

# The held-out messages of three businesses (tests/nlu/README.md): proven apart from data/nlu, then
# judged per intent and per entity, each message as a customer of its own business.
nlu-eval: $(MODEL)
	$(PY) -m tests.nlu.disjoint --hide-training
	$(PY) -m tests.nlu.gate $(NLU_FLOORS)

# Against a running Grace: the journeys, and the attack suite (each security finding, refused).
e2e: $(MODEL)
	$(PY) -m pytest -q tests/e2e tests/security

# Two Rasa replicas behind the balancer on the real PostgreSQL and Redis: load and fault tests (~4 min).
scale: $(MODEL) services
	$(PY) -m pytest -q tests/scale

# Training (TensorFlow, both cores in bursts) runs beside the unit tests (one core, mostly): together they
# take little longer than the unit tests alone. Each one's output is printed whole when it ends.
test: lint types validate
	$(MAKE) --no-print-directory -j2 --output-sync=target unit train
	$(MAKE) --no-print-directory services-tests conversations nlu-eval e2e scale

learn: $(STAMP)
	$(PY) -m grace.learn

tune-fallback: $(MODEL)
	$(PY) -m tests.nlu.tune_fallback

migrate: $(STAMP)
	$(PY) -m grace.store.migrate upgrade

# The scaled profile on this machine's PostgreSQL and Redis, same ports outward as `make run`.
run-scaled: $(MODEL) services
	@export DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/grace} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0}; \
	  psql "$${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$${DATABASE_URL##*/}'" | grep -q 1 || \
	  psql "$${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$${DATABASE_URL##*/}\""; \
	  $(PY) -m grace.run.scaled

run: $(MODEL)
	$(PY) -m grace.run.cli run

shell: $(MODEL)
	$(PY) -m grace.run.cli run --shell --tenant $${TENANT:-akanraby}

lint: $(STAMP)
	$(BIN)/ruff check grace actions connectors tests scripts web

types: $(STAMP)
	$(BIN)/mypy

bench: $(MODEL) services tesseract
	$(PY) -m tests.bench.latency
	$(PY) -m tests.bench.proof_reading

profile: $(MODEL)
	$(PY) -m tests.bench.profile_turn

clean:
	rm -rf results .pytest_cache
