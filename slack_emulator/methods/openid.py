"""Sign in with Slack (OpenID Connect): the authorize page, ``openid.connect.token`` and
``openid.connect.userInfo``, shaped as Slack documents them (docs.slack.dev "Sign in with Slack").

Differences from Slack, on purpose:
* the ``id_token`` is a JWT signed **HS256 with the client secret** (Slack signs RS256 and
  publishes its keys at /openid/connect/keys); a relying party that gets the token straight from
  the token endpoint over TLS may rely on that channel instead (OpenID Connect Core §3.1.3.7).
* token times (iat/exp/auth_time) are wall-clock, not the emulator's clock, so a replay on a
  past emulator clock still signs in.
* the authorize page has no Slack login: it lists the workspace's people to sign in as (or takes
  ``emulator_user=<id>`` to skip the page, for scripts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import spec
from ..state import Call

if TYPE_CHECKING:
    from ..emulator import SlackEmulator
    from ..state import Workspace

ISSUER = "https://slack.com"
CODE_TTL = 600.0
TOKEN_TTL = 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_hs256(claims: dict[str, Any], secret: str) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


class OpenIdConnect:
    """The emulator's OAuth app and the codes and user tokens it issued."""

    ws: Workspace

    oauth_client_id = "E0EMULATOR.0000000001"
    oauth_client_secret = "emulator-oauth-client-secret"

    @property
    def _oidc(self) -> dict[str, Any]:
        state = self.__dict__.get("_oidc_state")
        if state is None:
            state = self.__dict__["_oidc_state"] = {"codes": {}, "tokens": {}, "lock": threading.Lock()}
        return state

    def add_user_from_other_team(self, name: str, team_id: str = "T0ELSEWHERE") -> str:
        """A person of another workspace (e.g. a Slack Connect guest) who can still sign in."""
        with self.ws.lock:
            uid = self.ws.add_user(name)
            self.ws.users[uid]["team_id"] = team_id
            self.ws.users[uid]["profile"]["team"] = team_id
            return uid

    def _issue_code(self, user: str, client_id: str, redirect_uri: str, nonce: str | None) -> str:
        code = "emu-code-" + secrets.token_urlsafe(16)
        with self._oidc["lock"]:
            self._oidc["codes"][code] = {
                "user": user,
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "nonce": nonce,
                "issued": time.time(),
            }
        return code

    def _redeem(self, code: str) -> dict[str, Any] | None:
        with self._oidc["lock"]:
            grant: dict[str, Any] | None = self._oidc["codes"].pop(code, None)  # single use
        if grant is None or time.time() - grant["issued"] > CODE_TTL:
            return None
        return grant

    def _claims(self, user: str) -> dict[str, Any]:
        with self.ws.lock:
            u = self.ws.users[user]
            profile = u["profile"]
            team = u.get("team_id", self.ws.team_id)
            return {
                "sub": user,
                "https://slack.com/user_id": user,
                "https://slack.com/team_id": team,
                "email": profile.get("email", ""),
                "email_verified": True,
                "date_email_verified": 1_700_000_000,
                "name": u.get("real_name") or u["name"],
                "picture": profile.get("image_72", ""),
                "given_name": profile.get("first_name", ""),
                "family_name": profile.get("last_name", ""),
                "locale": "en-US",
                "https://slack.com/team_name": self.ws.team_name if team == self.ws.team_id else "Elsewhere",
                "https://slack.com/team_domain": "emulator" if team == self.ws.team_id else "elsewhere",
            }


def _record(emu: SlackEmulator, method: str, args: dict[str, Any], body: dict[str, Any]) -> None:
    recorded = {k: v for k, v in args.items() if k not in ("client_secret", "code")}
    with emu.ws.lock:
        emu.ws.calls.append(Call(method, recorded, bool(body.get("ok")), body.get("error"), 200))


def _checked(emu: SlackEmulator, method: str, args: dict[str, Any]) -> JSONResponse | None:
    problems = spec.check_call(method, args)
    if not problems:
        return None
    for p in problems:
        emu.ws.violations.append(p)
    return JSONResponse({"ok": False, "error": "invalid_arguments", "emulator_violations": problems}, 400)


def _users_page(emu: SlackEmulator, params: dict[str, str]) -> str:
    with emu.ws.lock:
        people = [
            (uid, u.get("real_name") or u["name"], u.get("team_id", emu.ws.team_id))
            for uid, u in emu.ws.users.items()
            if not u.get("is_bot") and not u.get("deleted")
        ]
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
    )
    buttons = "".join(
        f'<li><button name="emulator_user" value="{html.escape(uid)}">Sign in as {html.escape(name)}'
        f" <small>({html.escape(uid)}, {html.escape(team)})</small></button></li>"
        for uid, name, team in people
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sign in with Slack (emulator)</title>"
        "</head><body><h1>Sign in with Slack</h1><p>Emulator: choose who you are.</p>"
        f"<form method='post'>{hidden}<ul>{buttons}</ul></form></body></html>"
    )


def openid_routes(emu: SlackEmulator) -> list[Route]:
    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
        scopes = set(params.get("scope", "").replace(",", " ").split())
        if client_id != emu.oauth_client_id:
            return HTMLResponse("<p>Unknown client_id (invalid_client_id).</p>", status_code=400)
        if params.get("response_type") != "code" or "openid" not in scopes or not redirect_uri:
            return HTMLResponse(
                "<p>Bad request: response_type=code, scope openid and redirect_uri are required.</p>", 400
            )
        user = params.pop("emulator_user", None)
        if not user:
            return HTMLResponse(_users_page(emu, params))
        with emu.ws.lock:
            known = user in emu.ws.users and not emu.ws.users[user].get("is_bot")
        if not known:
            return HTMLResponse("<p>No such user.</p>", status_code=400)
        code = emu._issue_code(user, client_id, redirect_uri, params.get("nonce"))
        query = urlencode({"code": code, **({"state": params["state"]} if "state" in params else {})})
        sep = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{sep}{query}", status_code=302)

    async def token(request: Request) -> Response:
        args = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                cid, _, csecret = base64.b64decode(basic[6:]).decode().partition(":")
                args.setdefault("client_id", cid)
                args.setdefault("client_secret", csecret)
            except ValueError:
                pass
        bad = _checked(emu, "openid.connect.token", args)
        if bad is not None:
            return bad
        body = _token(emu, args)
        _record(emu, "openid.connect.token", args, body)
        return JSONResponse(body)

    async def user_info(request: Request) -> Response:
        args = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        args.update(request.query_params)
        header = request.headers.get("authorization", "")
        tok = header[7:].strip() if header.lower().startswith("bearer ") else args.get("token", "")
        with emu._oidc["lock"]:
            grant = emu._oidc["tokens"].get(tok)
        if not tok:
            body: dict[str, Any] = {"ok": False, "error": "not_authed"}
        elif grant is None or grant["expires"] < time.time():
            body = {"ok": False, "error": "invalid_auth"}
        else:
            body = {"ok": True, **emu._claims(grant["user"])}
        _record(emu, "openid.connect.userInfo", {k: v for k, v in args.items() if k != "token"}, body)
        return JSONResponse(body)

    return [
        Route("/openid/connect/authorize", authorize, methods=["GET", "POST"]),
        Route("/api/openid.connect.token", token, methods=["POST"]),
        Route("/api/openid.connect.userInfo", user_info, methods=["GET", "POST"]),
    ]


def _token(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("client_id") != emu.oauth_client_id or args.get("client_secret") != emu.oauth_client_secret:
        return {"ok": False, "error": "invalid_client_id"}
    if args.get("grant_type", "authorization_code") != "authorization_code":
        return {"ok": False, "error": "invalid_grant_type"}
    grant = emu._redeem(str(args.get("code") or ""))
    if grant is None:
        return {"ok": False, "error": "invalid_code"}
    if args.get("redirect_uri") and args["redirect_uri"] != grant["redirect_uri"]:
        return {"ok": False, "error": "bad_redirect_uri"}
    now = int(time.time())
    access = "xoxp-emulator-" + secrets.token_hex(12)
    with emu._oidc["lock"]:
        emu._oidc["tokens"][access] = {"user": grant["user"], "expires": now + TOKEN_TTL}
    claims = {
        "iss": ISSUER,
        "aud": emu.oauth_client_id,
        "exp": now + TOKEN_TTL,
        "iat": now,
        "auth_time": now,
        **({"nonce": grant["nonce"]} if grant["nonce"] else {}),
        "at_hash": _b64(hashlib.sha256(access.encode()).digest()[:16]),
        **emu._claims(grant["user"]),
    }
    return {
        "ok": True,
        "access_token": access,
        "token_type": "Bearer",
        "id_token": sign_hs256(claims, emu.oauth_client_secret),
    }
