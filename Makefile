# Two commands for a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VALIDATE_STAMP := $(VENV)/.installed-validate
PIP_LOCKED := $(BIN)/pip install --quiet --require-hashes
UV_COMPILE := $(BIN)/uv pip compile --quiet pyproject.toml --universal --python-version 3.11 --generate-hashes

.PHONY: demo test chromium lint bench clean lock validate-deploy image image-smoke audit

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
chromium:
ifeq ($(CHROMIUM),)
	@echo "installing Debian's chromium for the browser tests (needs root and apt-get)"
	apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null
endif

# The suite over TEST_WORKERS processes (pytest-xdist): two on a two-core machine (more push
# tests past Slack's own deadlines, such as the 3 s acknowledgement). Each worker has its own temp folders, ports,
# emulators and databases. TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2
test: $(STAMP) chromium
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# docker-compose.yml against the compose-spec schema; the Helm chart linted and rendered by Helm's
# own Go SDK and every manifest checked against Kubernetes' schemas (offline).
validate-deploy: $(VALIDATE_STAMP)
	$(BIN)/python scripts/validate-deploy

# The image, labelled with its release: VERSION, the commit, the build time, where the source is
# (the remote's URL without any user or token in it).
# IMAGE_BUILD=podman build --format docker  for podman.
IMAGE ?= incident-bot
IMAGE_BUILD ?= docker build
image:
	$(IMAGE_BUILD) $(IMAGE_BUILD_ARGS) -t $(IMAGE):$$(cat VERSION) .

IMAGE_BUILD_ARGS = --build-arg VERSION="$$(cat VERSION)" \
	--build-arg REVISION="$$(git rev-parse HEAD)" \
	--build-arg CREATED="$$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--build-arg SOURCE="$$(git config --get remote.origin.url | sed -E 's,//[^/@]*@,//,' || true)"

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
