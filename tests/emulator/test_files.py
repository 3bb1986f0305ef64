"""files_upload_v2 end to end, user file shares, and downloads."""

from __future__ import annotations

from typing import Any

import httpx
from slack_sdk import WebClient

from slack_emulator import SlackEmulator


def test_files_upload_v2_end_to_end(emu: SlackEmulator, client: WebClient, receiver: Any) -> None:
    cid = client.conversations_create(name="inc-files")["channel"]["id"]
    content = b"# Postmortem\n\n2>&1 | tee log\n"
    r = client.files_upload_v2(
        channel=cid, content=content, filename="postmortem.md", title="Postmortem", initial_comment="the doc"
    )
    fid = r["file"]["id"]
    assert emu.files[fid]["content"] == content and emu.files[fid]["title"] == "Postmortem"
    msg = emu.messages(cid)[-1]
    assert msg["subtype"] == "file_share" and msg["files"][0]["id"] == fid and msg["text"] == "the doc"
    assert client.files_info(file=fid)["file"]["channels"] == [cid]
    emu.wait_deliveries()
    ev = receiver.events()[-1]["event"]
    assert ev["subtype"] == "file_share" and ev["files"][0]["id"] == fid
    assert [c.method for c in emu.calls][-3:] == [
        "files.getUploadURLExternal", "files.completeUploadExternal", "files.info"
    ]  # fmt: skip
    assert emu.violations == []


def test_user_shared_file_can_be_downloaded_by_the_bot(emu: SlackEmulator, people: dict[str, str]) -> None:
    cid = emu.add_channel("room", members=[people["alice"]])
    d = emu.post_message(
        people["alice"], cid, "log", files=[{"name": "app.log", "mimetype": "text/plain", "content": b"ERR"}]
    )
    f = emu.message(cid, d.ts or "")["files"][0]
    got = httpx.get(f["url_private_download"], headers={"Authorization": f"Bearer {emu.bot_token}"})
    assert got.status_code == 200 and got.content == b"ERR"
    assert httpx.get(f["url_private_download"]).status_code == 403


def test_multipart_upload_is_accepted(emu: SlackEmulator, client: WebClient) -> None:
    r = client.files_getUploadURLExternal(filename="a.bin", length=3)
    up = httpx.post(r["upload_url"], files={"file": ("a.bin", b"\x00\x01\x02")})
    assert up.status_code == 200
    client.files_completeUploadExternal(files=[{"id": r["file_id"], "title": "A"}])
    assert emu.files[r["file_id"]]["content"] == b"\x00\x01\x02"
