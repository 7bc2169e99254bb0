# Switchboard — one entry point for humans and CI. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
PYTEST_ARGS ?=

.PHONY: help install infra-up infra-down infra-status run stop simulate test test-unit lint audit format schemas

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install: ## install uv if missing and every package of the workspace from the lock file
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet uv
	$(UV) sync --all-packages --frozen

infra-up: ## start local Kafka (KRaft), PostgreSQL and Redis (installs them when missing)
	bash scripts/infra.sh up

infra-down: ## stop what infra-up started
	bash scripts/infra.sh down

infra-status: ## one line per local infrastructure process
	bash scripts/infra.sh status

run: install infra-up ## bring the whole platform up locally and print where to look
	bash scripts/run.sh start

stop: ## stop the services started by make run (infrastructure keeps running)
	bash scripts/run.sh stop

FORMAT ?= generic
simulate: ## play today's clinic day of calls into the running platform, live at 60x (FORMAT=generic|freeswitch|mango|twilio)
	set -a; [ ! -f .cache/infra/env ] || . .cache/infra/env; . scripts/demo-pbx.env; set +a; \
	$(UV) run --frozen switchboard-telephony simulate --url http://127.0.0.1:8001 --speedup 60 \
		--format $(FORMAT) --call-id-prefix live-$$(date +%s)-

test: install infra-up ## every test, against real Kafka, PostgreSQL and Redis
	$(UV) run pytest $(PYTEST_ARGS)

test-unit: install ## the tests that need no infrastructure
	$(UV) run pytest -m "not integration" $(PYTEST_ARGS)

lint: install ## ruff (lint and format) and mypy on every package of the workspace; CI runs it
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy libs/*/src services/*/src

# Every third-party package pinned in uv.lock (dev tools included; the workspace's own
# packages are not on PyPI), checked against PyPI's advisory data. A package PyPI cannot
# describe is listed as skipped; PIP_AUDIT_ARGS=--strict makes that an error too.
# Ignored advisories go in PIP_AUDIT_IGNORE as --ignore-vuln ID, each with its reason: none.
PIP_AUDIT_IGNORE :=
PIP_AUDIT_ARGS ?=
audit: install ## known vulnerabilities in the locked dependencies (pip-audit; needs PyPI's advisory data, so not part of CI)
	$(UV) export --frozen --no-hashes --all-packages --no-emit-workspace --format requirements-txt \
		| $(UV) run pip-audit --requirement /dev/stdin --no-deps --disable-pip \
			--progress-spinner off $(PIP_AUDIT_IGNORE) $(PIP_AUDIT_ARGS)

format: install ## apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

schemas: install ## export the event contracts (JSON Schema, AsyncAPI with every consumer group) into docs/contracts
	$(UV) run python scripts/export_contracts.py docs/contracts

# --- benchmarks (bench/README.md): figures beside same-run baselines; never fail on time ------
.PHONY: bench bench-quick

bench: install infra-up ## every benchmark at full size; figures to bench/results, table printed
	$(UV) run --frozen python bench/run_all.py

bench-quick: install infra-up ## every benchmark at small sizes (under 5 minutes) into bench/results/quick
	$(UV) run --frozen python bench/run_all.py --quick

# --- operator console (console/ and services/console/) -----------------------------------
.PHONY: console-build e2e

console/node_modules/.package-lock.json: console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund

console-build: console/node_modules/.package-lock.json ## build the operator console into console/dist (Node 20.19+, npm)
	cd console && npm run build

e2e: install infra-up console-build ## the console's browser tests (Playwright + Debian's /usr/bin/chromium)
	$(UV) run pytest tests/e2e $(PYTEST_ARGS)

# --- Kubernetes (deploy/k8s/README.md) ------------------------------------------------------
.PHONY: k8s-kafka-users

k8s-kafka-users: install ## regenerate the services' Strimzi KafkaUsers (ACLs from their subscription tables)
	$(UV) run python scripts/k8s_kafka_users.py

# --- container images (Dockerfile, scripts/images.sh; deploy/k8s/README.md) ----------------
.PHONY: images images-push test-images
# Empty: the workspace version (pyproject.toml), the tag the Kubernetes overlays name.
IMAGE_TAG ?=
REGISTRY ?=
# More `buildah push` options, e.g. --authfile=FILE (written by `buildah login`).
PUSH_ARGS ?=

images: console-build ## every service's and the console's image (buildah, Debian base by mmdebstrap); sizes printed
	IMAGE_TAG="$(IMAGE_TAG)" bash scripts/images.sh build

images-push: ## copy the images to REGISTRY, e.g. REGISTRY=docker://registry.example-chain.example/switchboard
	IMAGE_TAG="$(IMAGE_TAG)" bash scripts/images.sh push "$(REGISTRY)" $(PUSH_ARGS)

test-images: install infra-up console-build ## the images run as the cluster runs them (buildah run): migrate, /readyz, a first call
	$(UV) run pytest tests/images $(PYTEST_ARGS)
