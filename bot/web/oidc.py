"""Sign in with Slack (OpenID Connect), as a small httpx client.

authorize URL → (Slack signs the person in) → callback with ``code`` → ``openid.connect.token``
→ the ID token's claims are checked (issuer, audience, expiry, nonce) → ``openid.connect.userInfo``
with the person's token gives who they are and which workspace they belong to.

Signature: the ID token comes straight from Slack's token endpoint over TLS, which OpenID Connect
Core §3.1.3.7 (6) accepts in place of checking its signature; Slack signs RS256 (keys at
/openid/connect/keys) and that is not verified here. An HS256 token (the emulator signs with the
client secret) is verified with the client secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.ops.outbound import tls_context

ISSUER = "https://slack.com"
SCOPES = "openid profile email"
CLOCK_SKEW = 120


class SignInFailed(Exception):
    """Why a sign-in was refused, as a human line (no secrets in it)."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    team_id: str
    name: str
    email: str


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def id_token_claims(
    token: str, *, client_id: str, client_secret: str, nonce: str, now: float
) -> dict[str, Any]:
    try:
        head_b64, body_b64, sig_b64 = token.split(".")
        header = json.loads(_b64decode(head_b64))
        claims: dict[str, Any] = json.loads(_b64decode(body_b64))
    except (ValueError, TypeError) as exc:
        raise SignInFailed("Slack sent an ID token that is not a JWT") from exc
    if header.get("alg") == "HS256":
        expected = hmac.new(
            client_secret.encode(), f"{head_b64}.{body_b64}".encode(), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(expected, _b64decode(sig_b64)):
            raise SignInFailed("the ID token's signature does not match")
    elif header.get("alg") != "RS256":
        raise SignInFailed(f"unexpected ID token algorithm {str(header.get('alg'))[:20]!r}")
    if claims.get("iss") != ISSUER:
        raise SignInFailed("the ID token was not issued by Slack")
    aud = claims.get("aud")
    if aud != client_id and not (isinstance(aud, list) and client_id in aud):
        raise SignInFailed("the ID token is for another app")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - CLOCK_SKEW:
        raise SignInFailed("the ID token has expired")
    if not nonce or claims.get("nonce") != nonce:
        raise SignInFailed("the sign-in was not started here (nonce mismatch); start again")
    return claims


class SlackOidc:
    def __init__(self, api_url: str, client_id: str, client_secret: str, timeout: float = 10.0) -> None:
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        root = self.api_url.removesuffix("api/")
        self.authorize_endpoint = f"{root}openid/connect/authorize"
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout

    def authorize_url(self, *, redirect_uri: str, state: str, nonce: str, team: str | None) -> str:
        params = {
            "response_type": "code",
            "scope": SCOPES,
            "client_id": self.client_id,
            "state": state,
            "nonce": nonce,
            "redirect_uri": redirect_uri,
            **({"team": team} if team else {}),
        }
        return f"{self.authorize_endpoint}?{urlencode(params)}"

    def _post(self, method: str, data: dict[str, str], token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            resp = httpx.post(
                f"{self.api_url}{method}",
                data=data,
                headers=headers,
                timeout=self.timeout,
                verify=tls_context(),
            )
            body: dict[str, Any] = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInFailed(f"Slack could not be reached for {method} ({type(exc).__name__})") from exc
        if not body.get("ok"):
            raise SignInFailed(f"Slack refused {method}: {str(body.get('error'))[:60]}")
        return body

    def sign_in(self, *, code: str, redirect_uri: str, nonce: str) -> Identity:
        tokens = self._post(
            "openid.connect.token",
            {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "code": code,
                "redirect_uri": redirect_uri,
                "grant_type": "authorization_code",
            },
        )
        claims = id_token_claims(
            str(tokens.get("id_token") or ""),
            client_id=self.client_id,
            client_secret=self.client_secret,
            nonce=nonce,
            now=time.time(),
        )
        info = self._post("openid.connect.userInfo", {}, token=str(tokens.get("access_token") or ""))
        if info.get("sub") != claims.get("sub"):
            raise SignInFailed("Slack's user info does not match the ID token")
        return Identity(
            user_id=str(info["sub"]),
            team_id=str(info.get("https://slack.com/team_id") or ""),
            name=str(info.get("name") or info["sub"]),
            email=str(info.get("email") or ""),
        )
