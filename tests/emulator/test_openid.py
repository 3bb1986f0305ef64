"""The emulator's Sign in with Slack endpoints behave (and answer) as Slack documents them."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from slack_sdk import WebClient


def _code(emu: Any, user: str, nonce: str = "n1") -> str:
    root = emu.api_url.removesuffix("api/")
    r = httpx.get(
        f"{root}openid/connect/authorize",
        params={
            "response_type": "code",
            "scope": "openid profile email",
            "client_id": emu.oauth_client_id,
            "redirect_uri": "http://app.test/cb",
            "state": "s1",
            "nonce": nonce,
            "emulator_user": user,
        },
    )
    assert r.status_code == 302
    query = parse_qs(urlparse(r.headers["location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def test_code_for_tokens_then_user_info(emu: Any, people: dict[str, str]) -> None:
    alice = people["alice"]
    client = WebClient(base_url=emu.api_url)
    tokens = client.openid_connect_token(
        client_id=emu.oauth_client_id,
        client_secret=emu.oauth_client_secret,
        code=_code(emu, alice),
        redirect_uri="http://app.test/cb",
    )
    assert tokens["token_type"] == "Bearer" and tokens["access_token"].startswith("xoxp-")
    claims = json.loads(base64.urlsafe_b64decode(tokens["id_token"].split(".")[1] + "=="))
    assert claims["iss"] == "https://slack.com" and claims["aud"] == emu.oauth_client_id
    assert claims["sub"] == alice and claims["nonce"] == "n1"
    info = WebClient(token=tokens["access_token"], base_url=emu.api_url).openid_connect_userInfo()
    assert info["sub"] == alice and info["https://slack.com/team_id"] == emu.team_id
    assert info["name"] == "Alice A" and info["email"] == "alice@emulator.slack.test"


def test_codes_are_single_use_and_need_the_client_secret(emu: Any, people: dict[str, str]) -> None:
    pass
    url = emu.api_url + "openid.connect.token"
    code = _code(emu, people["bob"])
    wrong = httpx.post(url, data={"client_id": emu.oauth_client_id, "client_secret": "nope", "code": code})
    assert wrong.json() == {"ok": False, "error": "invalid_client_id"}
    good = {"client_id": emu.oauth_client_id, "client_secret": emu.oauth_client_secret, "code": code}
    assert httpx.post(url, data=good).json()["ok"] is True
    assert httpx.post(url, data=good).json() == {"ok": False, "error": "invalid_code"}
    info = httpx.post(
        emu.api_url + "openid.connect.userInfo", headers={"Authorization": "Bearer xoxp-forged"}
    )
    assert info.json() == {"ok": False, "error": "invalid_auth"}


def test_the_authorize_page_lists_people_and_rejects_unknown_apps(emu: Any, people: dict[str, str]) -> None:
    root = emu.api_url.removesuffix("api/")
    base = {"response_type": "code", "scope": "openid", "redirect_uri": "http://app.test/cb"}
    page = httpx.get(f"{root}openid/connect/authorize", params={**base, "client_id": emu.oauth_client_id})
    assert page.status_code == 200 and "Sign in as Bob B" in page.text
    other = httpx.get(f"{root}openid/connect/authorize", params={**base, "client_id": "someone-else"})
    assert other.status_code == 400
