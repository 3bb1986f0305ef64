# syntax=docker/dockerfile:1
# incident-bot container image.
#
#   docker build -t incident-bot .                      (or: podman build --format docker …)
#   docker build --build-arg BASE_IMAGE=my-registry/python:3.11-slim-bookworm -t incident-bot .
#
# BASE_IMAGE must provide python3 (3.11 or newer) with the venv module; both stages use it, so the
# virtualenv built in the first stage runs unchanged in the second. scripts/image-smoke builds a
# Debian bookworm base with debootstrap when no registry is reachable.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm

# ---- builder: dependencies from the hash-checked lock, then the project itself ------------------
FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/incident-bot
WORKDIR /src
COPY requirements.lock ./
# Behind a TLS-intercepting proxy, pass its CA bundle as a build secret (never stored in a layer):
#   docker build --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt .
RUN --mount=type=secret,id=ca-certificates,required=false \
    if [ -s /run/secrets/ca-certificates ]; then export PIP_CERT=/run/secrets/ca-certificates; fi \
 && /opt/incident-bot/bin/pip install --require-hashes --only-binary=:all: -r requirements.lock
COPY . ./
# Not editable: the packages (with the Alembic migrations and the emulator's specs as package data)
# go to site-packages, templates/ to /opt/incident-bot/share/incident-bot/templates, where the
# renderer looks when it is not running from a checkout. Both are checked here.
RUN --mount=type=secret,id=ca-certificates,required=false \
    if [ -s /run/secrets/ca-certificates ]; then export PIP_CERT=/run/secrets/ca-certificates; fi \
 && /opt/incident-bot/bin/pip install --no-deps . \
 && /opt/incident-bot/bin/pip check \
 && test -f /opt/incident-bot/share/incident-bot/templates/postmortem.md.j2 \
 && find /opt/incident-bot/lib -path '*/migrations/versions/0001_*.py' | grep -q . \
 && /opt/incident-bot/bin/python -m pip uninstall --quiet --yes pip

# ---- final: the interpreter, the virtualenv, nothing to compile or build with -------------------
FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="incident-bot" \
      org.opencontainers.image.description="Self-hosted Slack incident bot" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"

RUN useradd --uid 10001 --user-group --home-dir /var/lib/incident-bot --no-create-home \
      --shell /usr/sbin/nologin incident-bot \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/incident-bot /var/lib/incident-bot/postmortems

COPY --from=builder /opt/incident-bot /opt/incident-bot
COPY deploy/docker/healthcheck.py /opt/incident-bot/healthcheck.py

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
