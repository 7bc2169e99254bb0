# Switchboard — one entry point for humans and CI. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
PYTEST_ARGS ?=

.PHONY: help install infra-up infra-down infra-status run stop test test-unit lint format schemas

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

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

test: install infra-up ## every test, against real Kafka, PostgreSQL and Redis
	$(UV) run pytest $(PYTEST_ARGS)

test-unit: install ## the tests that need no infrastructure
	$(UV) run pytest -m "not integration" $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy libs/contracts/src libs/runtime/src

format: install ## apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

schemas: install ## export the event contracts as JSON Schema and AsyncAPI into docs/contracts
	$(UV) run switchboard-contracts export --out docs/contracts
