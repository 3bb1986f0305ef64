"""The probes and /metrics: GET /healthz (every dependency), /livez (the process serves), /readyz
(what serving needs is reachable), /metrics (unless METRICS_PORT gives it a port of its own)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.ops.build import COMMIT, VERSION
from bot.ops.health import READY_NEEDS, HealthCheck
from bot.ops.metrics import exposition


def probe_routes(health: HealthCheck, serve_metrics: bool = True) -> list[Route]:
    async def metrics(_: Request) -> Response:
        payload, content_type = exposition()
        return Response(payload, media_type=content_type)

    async def healthz(_: Request) -> Response:
        # The cached state (refreshed by the health check's own thread): no thread, no Slack call,
        # so probes never compete with the acks for the threads they run on.
        report = health.report()
        return JSONResponse(
            {**report, "version": VERSION, "commit": COMMIT},
            status_code=200 if report["status"] == "ok" else 503,
        )

    async def livez(_: Request) -> Response:
        # The event loop answers: the process serves. Never a dependency: restarting the bot does
        # not bring Slack or the database back.
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        report = health.report()
        checks: dict[str, str] = report["checks"]  # type: ignore[assignment]
        needed = {name: checks[name] for name in READY_NEEDS if name in checks}
        failing = sorted(name for name, state in needed.items() if state != "ok")
        return JSONResponse(
            {"status": "failing" if failing else "ok", "failing": failing, "checks": needed},
            status_code=503 if failing else 200,
        )

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *([Route("/metrics", metrics, methods=["GET"])] if serve_metrics else []),
    ]
