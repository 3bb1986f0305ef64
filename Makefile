# Two commands for a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VALIDATE_STAMP := $(VENV)/.installed-validate
PIP_LOCKED := $(BIN)/pip install --quiet --require-hashes
UV_COMPILE := $(BIN)/uv pip compile --quiet pyproject.toml --universal --python-version 3.11 --generate-hashes

.PHONY: demo test lint bench clean lock validate-deploy image-smoke audit

# Dependencies come from the lock (hashes checked); the project itself is installed on top without
# resolving anything again. `make lock` regenerates the locks after a change to pyproject.toml.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(PIP_LOCKED) -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; \
	  echo "requirements-dev.lock does not satisfy pyproject.toml: run 'make lock'" >&2; exit 1; }
	touch $(STAMP)

$(VALIDATE_STAMP): $(STAMP) requirements-validate.lock
	$(PIP_LOCKED) -r requirements-validate.lock
	touch $(VALIDATE_STAMP)

demo: $(STAMP)
	$(BIN)/incident-bot demo $(DEMO_FLAGS)

# The browser tests (tests/web) drive Debian's Chromium headless: installed here when absent.
CHROMIUM := $(shell command -v chromium 2>/dev/null)
test: $(STAMP)
ifeq ($(CHROMIUM),)
	@echo "installing Debian's chromium for the browser tests (needs root and apt-get)"
	apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
endif
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# docker-compose.yml against the compose-spec schema; the Helm chart linted and rendered by Helm's
# own Go SDK and every manifest checked against Kubernetes' schemas (offline).
validate-deploy: $(VALIDATE_STAMP)
	$(BIN)/python scripts/validate-deploy

# Build the image with podman and run it against the emulator and PostgreSQL (slow; not in CI).
image-smoke: $(STAMP)
	scripts/image-smoke

lock: $(STAMP)
	$(BIN)/pip install --quiet uv
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra dev -c requirements.lock -o requirements-dev.lock
	$(UV_COMPILE) --extra validate -c requirements-dev.lock -o requirements-validate.lock

# Known vulnerabilities in the installed dependencies (pip-audit, in a venv of its own inside .venv
# so it does not audit itself). It asks PyPI's JSON API about each installed version
# (pypi.org/pypi/<name>/<version>/json, PyPA's advisory database); --strict fails when a package
# could not be checked, so an unreachable API is a failure, never a clean report.
AUDIT_VENV := $(VENV)/audit
audit: $(STAMP)
	test -x $(AUDIT_VENV)/bin/pip-audit || \
		($(PYTHON) -m venv $(AUDIT_VENV) && $(AUDIT_VENV)/bin/pip install --quiet 'pip-audit>=2.7,<3')
	$(AUDIT_VENV)/bin/pip-audit --strict --skip-editable --progress-spinner off \
		--path "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
