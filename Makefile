# One entry point for people and CI. Everything installs itself on a fresh machine:
# the virtual environment, the Python packages, and the Debian packages the tests use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := unicode-data kcat curl openssl

.PHONY: corpora demo enrich-demo test bench bench-stream lint system-deps broker-start broker-stop clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,gazetteer]'
	touch $@

# ftfy's own test corpus (its sdist from PyPI, sha256 pinned in tests/corpora/fetch.py),
# for the peer suite in tests/enrich/test_ftfy_corpus.py.
corpora: $(VENV)/.installed
	$(PY) -m tests.corpora.fetch

# unicode-data: Unicode's NormalizationTest.txt for the conformance test; kcat: an
# independent Kafka client for the integration tests.
system-deps:
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
	  echo "installing Debian packages: $(APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); }

## demo: the streaming demo: local broker, one worker, feed seeds/, show output, stop all
demo: $(VENV)/.installed system-deps
	VENV=$(VENV) deploy/local/demo.sh

## enrich-demo: enrich the seed articles offline (no Kafka) and show the user's seed
enrich-demo: $(VENV)/.installed
	@mkdir -p .run
	$(VENV)/bin/article-worker enrich seeds/ > .run/enriched.jsonl
	@echo "wrote $$(wc -l < .run/enriched.jsonl) enriched records to .run/enriched.jsonl; the first:"
	@head -n 1 .run/enriched.jsonl | $(PY) -m json.tool --no-ensure-ascii

## test: the whole test suite (README's test command; .ci/run calls it)
test: $(VENV)/.installed system-deps corpora
	$(PY) -m pytest

## bench: articles per second of the enrichment core on one core, beside baselines
bench: $(VENV)/.installed
	$(VENV)/bin/article-worker bench seeds/

## bench-stream: end-to-end rate and latency on the local broker, beside a passthrough agent
bench-stream: $(VENV)/.installed
	deploy/local/kafka.sh start >/dev/null
	$(VENV)/bin/article-worker bench-stream seeds/

broker-start:
	deploy/local/kafka.sh start

broker-stop:
	deploy/local/kafka.sh stop

## fuzz: 100,000 mutated seed articles through the core: no exception, valid records, in budget
.PHONY: fuzz
fuzz: $(VENV)/.installed
	$(PY) -m tests.enrich.fuzz_core --inputs 100000

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check worker tests
	$(VENV)/bin/mypy

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache .hypothesis
