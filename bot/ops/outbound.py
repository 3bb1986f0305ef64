"""Outbound HTTP clients (paging, trackers, the status page, the model, file downloads), all with
the process's one TLS context: loading the CA bundle costs ~35 ms of CPU per context, and every
service built its own client at start."""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default context (SSL_CERT_FILE / SSL_CERT_DIR honoured), made once."""
    return httpx.create_ssl_context()


def http_client(**options: Any) -> httpx.Client:
    return httpx.Client(verify=tls_context(), **options)
