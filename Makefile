# The two commands a newcomer needs:
#   make run   - start the daemon on the bundled demo data (Ctrl-C stops it)
#   make test  - lint, type-check and run the whole test suite
# Both create .venv and install what they need; `make test` as root also
# installs the Debian packages the tests use (dovecot-imapd, radicale).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEB_PACKAGES := dovecot-imapd
DEMO_CONFIG := config/demo.yaml

.PHONY: run test lint typecheck pytest bench venv system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else \
	  for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo "warning: $$p is not installed (run make test as root, or apt-get install $$p)"; done; \
	fi

# Lays the demo out around today (config/demo/ moved by whole weeks into
# state/demo/), imports its directory (idempotent), then runs the daemon on the demo
# mailbox and calendar: state in ./state, health on http://127.0.0.1:8089,
# the HTTP API on http://127.0.0.1:8090/v1.
run: $(STAMP)
	$(BIN)/syncd --config $(DEMO_CONFIG) demo refresh
	$(BIN)/syncd --config $(DEMO_CONFIG) import companies config/demo/companies.csv
	$(BIN)/syncd --config $(DEMO_CONFIG) import contacts config/demo/contacts.csv
	$(BIN)/syncd --config $(DEMO_CONFIG) import opportunities config/demo/opportunities.csv
	@echo "API on http://127.0.0.1:8090/v1 with demo-only tokens (README, HTTP API):"
	@echo "  admin: demo-only-admin-token   rita: demo-only-rita-token   sam: demo-only-sam-token"
	$(BIN)/syncd --config $(DEMO_CONFIG) run

lint: $(STAMP)
	$(BIN)/ruff check syncd providers matching tests bench migrations
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP) system-deps
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache state
