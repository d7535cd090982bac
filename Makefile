# One entry point for people and CI. Everything installs itself on a fresh machine:
# the virtual environment, the Python packages, and the Debian packages the tests use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: dashboard-png corpora demo enrich-demo test bench lint system-deps broker-start broker-stop clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,gazetteer,render]'  # render: matplotlib, for the chart tests
	touch $@

# ftfy's own test corpus (its sdist from PyPI, sha256 pinned in tests/corpora/fetch.py),
# for the peer suite in tests/enrich/test_ftfy_corpus.py.
corpora: $(VENV)/.installed
	$(PY) -m tests.corpora.fetch

# unicode-data: Unicode's NormalizationTest.txt for the conformance test; kcat: an
# independent Kafka client for the integration tests. Java and Maven run the local broker
# (deploy/local/kafka.sh); they are installed from Debian only when `java` or `mvn` is
# missing, so a JDK from elsewhere on PATH is used as it is. podman (rootful, runc,
# netavark with aardvark-dns for container names), debootstrap (the local base image:
# deploy/containers/base-image.sh), promtool (in Debian's prometheus package) and jq are for
# the container tests; catatonit (the init of the infra container `podman kube play`
# starts) is named although podman recommends it. podman is installed with its
# recommends, as on the machines the container tests were run on; prometheus without
# them (they are a node exporter daemon).
APT_PACKAGES := unicode-data kcat curl openssl
CONTAINER_APT_PACKAGES := podman runc netavark aardvark-dns uidmap iptables catatonit debootstrap \
  debian-archive-keyring prometheus jq
JAVA_APT_PACKAGE ?= default-jre-headless
SUDO := $(if $(filter 0,$(shell id -u)),,$(shell command -v sudo))

# Fast path: dpkg-query only, no apt-get, when everything is there. Installing prometheus
# starts its daemon where an init system runs (systemd enables it too; without one,
# invoke-rc.d blocks the start): only promtool is wanted, so a daemon this install
# started is stopped and disabled. A container-test package the release lacks (netavark
# before Ubuntu 23.04) is named and left out rather than failing the demo.
system-deps:
	@set -e; want="$(APT_PACKAGES) $(CONTAINER_APT_PACKAGES)"; \
	command -v java >/dev/null || want="$$want $(JAVA_APT_PACKAGE)"; \
	command -v mvn >/dev/null || want="$$want maven"; \
	missing="$$(for p in $$want; do \
	  [[ "$$(dpkg-query -W -f='$${db:Status-Abbrev}' "$$p" 2>/dev/null)" == ii* ]] || echo "$$p"; \
	done | xargs)"; \
	[[ -z "$$missing" ]] && exit 0; \
	echo "installing Debian packages: $$missing"; \
	$(SUDO) apt-get update -qq; \
	for p in $(CONTAINER_APT_PACKAGES); do \
	  if [[ " $$missing " == *" $$p "* ]] && ! apt-cache show "$$p" >/dev/null 2>&1; then \
	    echo "not in this release's archive (container tests need it): $$p"; \
	    missing="$$(xargs -n 1 <<<"$$missing" | grep -vx "$$p" | xargs)"; fi; \
	done; \
	rest="$$(xargs -n 1 <<<"$$missing" | grep -vx prometheus | xargs)"; \
	[[ -z "$$rest" ]] || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$rest; \
	if [[ " $$missing " == *" prometheus "* ]]; then \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus; \
	  if [[ -d /run/systemd/system ]]; then $(SUDO) systemctl disable --now prometheus.service; \
	  elif $(SUDO) /etc/init.d/prometheus status >/dev/null 2>&1; then \
	    $(SUDO) /etc/init.d/prometheus stop && $(SUDO) update-rc.d prometheus disable; fi; \
	fi

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

## bench: the benchmark harness (benchmarks/), one run on the local broker: the core beside
## decode+NFC, a plain aiokafka loop, the Faust passthrough, the worker with 0/1/2 helper
## processes, latency at half load, memory. Writes .run/benchmark.json and docs/benchmark.png.
## A broker that is not running is started (deploy/local/kafka.sh) and stopped at the end;
## one already running is left alone. Options: make bench BENCH_ARGS='--quick'.
BENCH_ARGS ?=
bench: $(VENV)/.installed system-deps
	$(PY) -m pip install --quiet -e '.[render]'
	$(PY) -m benchmarks --start-broker $(BENCH_ARGS)

broker-start:
	deploy/local/kafka.sh start

broker-stop:
	deploy/local/kafka.sh stop

## fuzz: 100,000 mutated seed articles through the core: no exception, valid records, in budget
.PHONY: fuzz
fuzz: $(VENV)/.installed
	$(PY) -m tests.enrich.fuzz_core --inputs 100000

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check worker tests benchmarks
	$(VENV)/bin/ruff format --check worker tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache .hypothesis

## dashboard-png: run the compose stack here with podman, drive a workload, draw docs/dashboard.png
dashboard-png: $(VENV)/.installed system-deps
	$(PY) -m pip install --quiet -e '.[render]'
	deploy/containers/dashboard-snapshot.sh
