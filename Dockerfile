# syntax=docker/dockerfile:1
# incident-bot container image.
#
#   make image                                          (labelled with VERSION and the commit)
#   docker build -t incident-bot .                      (or: podman build --format docker …)
#   docker build --build-arg BASE_IMAGE=my-registry/python:3.11-slim-bookworm -t incident-bot .
#
# BASE_IMAGE must provide python3 (3.11 or newer) with the venv module; both stages use it, so the
# virtualenv built in the first stage runs unchanged in the second. scripts/image-smoke builds a
# Debian bookworm base with debootstrap when no registry is reachable.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm

# ---- deps: the virtualenv with the dependencies from the hash-checked lock ----------------------
# Only requirements.lock goes in, so this stage (and the image layer made from it) is rebuilt only
# when the lock changes: a code change ships the small code layer alone.
FROM ${BASE_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/incident-bot
COPY requirements.lock /tmp/requirements.lock
# Behind a TLS-intercepting proxy, pass its CA bundle as a build secret (never stored in a layer):
#   docker build --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt .
RUN --mount=type=secret,id=ca-certificates,required=false \
    if [ -s /run/secrets/ca-certificates ]; then export PIP_CERT=/run/secrets/ca-certificates; fi \
 && /opt/incident-bot/bin/pip install --require-hashes --only-binary=:all: -r /tmp/requirements.lock

# ---- runtime-deps: the same, without pip (what the final image copies) --------------------------
FROM deps AS runtime-deps
RUN /opt/incident-bot/bin/python -m pip uninstall --quiet --yes pip

# ---- build: the project on top, installed into a staging root (the code layer) ------------------
FROM deps AS build
WORKDIR /src
COPY . ./
# Release identity (`make image` passes all three): the version is the VERSION file's (the build
# argument, when given, must agree: it only feeds the image label); the commit goes to
# share/incident-bot/COMMIT, where `incident-bot --version` and /healthz read it (no .git here).
ARG VERSION=""
ARG REVISION=""
# Not editable: the packages (with the Alembic migrations and the emulator's specs as package data)
# go to site-packages, templates/ to /opt/incident-bot/share/incident-bot/templates, where the
# renderer looks when it is not running from a checkout; all of it under /staging (pip --root), then
# checked in place. Byte-compiled ahead: the bot and its storage (what `serve` imports); the
# emulator and the fakes (development tools) are compiled when used. pip fetches the build backend
# (pyproject.toml's [build-system]) from PyPI here too: the same CA bundle secret applies.
RUN --mount=type=secret,id=ca-certificates,required=false \
    if [ -s /run/secrets/ca-certificates ]; then export PIP_CERT=/run/secrets/ca-certificates; fi \
 && if [ -n "$VERSION" ] && [ "$VERSION" != "$(cat VERSION)" ]; then \
      echo "build argument VERSION=$VERSION differs from the VERSION file ($(cat VERSION))" >&2; exit 1; fi \
 && /opt/incident-bot/bin/pip install --no-deps --no-compile --root /staging . \
 && if [ -n "$REVISION" ]; then printf '%s\n' "$REVISION" > /staging/opt/incident-bot/share/incident-bot/COMMIT; fi \
 && site=$(find /staging/opt/incident-bot/lib -maxdepth 2 -name site-packages) \
 && /opt/incident-bot/bin/python -m compileall -q -j 0 -s /staging -p / "$site/bot" "$site/storage" \
 && cp -a /staging/. / \
 && /opt/incident-bot/bin/pip check \
 && test -f /opt/incident-bot/share/incident-bot/templates/postmortem.md.j2 \
 && test -f /opt/incident-bot/share/incident-bot/templates/web/analytics.html \
 && find /opt/incident-bot/lib -path '*/migrations/versions/0001_*.py' | grep -q . \
 && /opt/incident-bot/bin/incident-bot --version

# ---- final: the interpreter, the virtualenv, nothing to compile or build with -------------------
FROM ${BASE_IMAGE}

# pg_dump and pg_restore for `incident-bot db backup` on PostgreSQL, from the PostgreSQL project's
# Debian repository (PGDG; deploy/docker/pgdg-archive-key.asc is its signing key, B97B0AFC…4CF8, as
# Debian's postgresql-common ships it in /usr/share/postgresql-common/pgdg/). pg_dump refuses
# a server newer than itself and dumps any older one: client 17 backs up PostgreSQL 17 and older.
# A newer server: --build-arg PG_CLIENT_MAJOR=18. BASE_IMAGE must be Debian-based for this step.
# Where apt.postgresql.org cannot be reached: --build-arg PG_CLIENT_REPO=debian with the major the
# base's Debian release ships (bookworm: PG_CLIENT_MAJOR=15), which backs up PostgreSQL 15 and
# older only (not compose's 16).
ARG PG_CLIENT_MAJOR=17
ARG PG_CLIENT_REPO=pgdg
COPY deploy/docker/pgdg-archive-key.asc /usr/share/keyrings/pgdg-archive-key.asc
RUN . /etc/os-release \
 && case "$PG_CLIENT_REPO" in \
      pgdg) echo "deb [signed-by=/usr/share/keyrings/pgdg-archive-key.asc] http://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
              > /etc/apt/sources.list.d/pgdg.list ;; \
      debian) ;; \
      *) echo "build argument PG_CLIENT_REPO=$PG_CLIENT_REPO: pgdg or debian" >&2; exit 1 ;; \
    esac \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends "postgresql-client-${PG_CLIENT_MAJOR}" >/dev/null \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && pg_dump --version | grep -q " ${PG_CLIENT_MAJOR}\." \
 && pg_restore --version | grep -q " ${PG_CLIENT_MAJOR}\."

# OCI labels (`make image` fills them in): `docker inspect` says which release and commit this is.
ARG VERSION=""
ARG REVISION=""
ARG CREATED=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="incident-bot" \
      org.opencontainers.image.description="Self-hosted Slack incident bot" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT"

RUN useradd --uid 10001 --user-group --home-dir /var/lib/incident-bot --no-create-home \
      --shell /usr/sbin/nologin incident-bot \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/incident-bot /var/lib/incident-bot/postmortems

# The dependencies' layer (it changes with requirements.lock only), then the code's (a few MB): the
# last two layers with content (scripts/image-smoke reports both).
COPY deploy/docker/healthcheck.py /opt/incident-bot/healthcheck.py
COPY --from=runtime-deps /opt/incident-bot /opt/incident-bot
COPY --from=build /staging/opt/incident-bot /opt/incident-bot

ENV PATH="/opt/incident-bot/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:////var/lib/incident-bot/incident-bot.db \
    INCIDENT_OUTPUT_DIR=/var/lib/incident-bot/postmortems

WORKDIR /var/lib/incident-bot
VOLUME ["/var/lib/incident-bot"]
USER 10001:10001
EXPOSE 3000

# `serve` drains on SIGTERM (uvicorn finishes in-flight requests, the scheduler stops) and exits 0.
STOPSIGNAL SIGTERM
# GET /livez (deploy/docker/healthcheck.py): the process serves, whatever Slack and the database do. No curl needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/opt/incident-bot/bin/python", "/opt/incident-bot/healthcheck.py"]

ENTRYPOINT ["incident-bot"]
CMD ["serve"]
