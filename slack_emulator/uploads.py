"""A person uploads a file into a channel: a ``file_share`` message whose file the app reads with
``files.info`` and downloads from ``url_private`` with its bot token, as Slack serves it; the app
gets the message event and, when subscribed, ``file_shared``."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from .delivery import Delivery

if TYPE_CHECKING:
    from .state import Workspace

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _err(msg: str) -> Exception:
    from .emulator import EmulatorError

    return EmulatorError(msg)


def file_bytes(content: bytes | str | None, content_base64: str | None) -> bytes:
    """The file's bytes from raw bytes, text (UTF-8) or base64 (for JSON callers)."""
    if content is not None and content_base64 is not None:
        raise _err("give content or content_base64, not both")
    if content_base64 is not None:
        try:
            data = base64.b64decode(content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _err(f"content_base64 is not base64: {exc}") from exc
    else:
        data = content.encode() if isinstance(content, str) else bytes(content or b"")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _err(f"file of {len(data)} bytes: the emulator takes at most {MAX_UPLOAD_BYTES}")
    return data


class UploadActions:
    ws: Workspace
    post_message: Any
    deliver_event: Any

    def upload_file(
        self,
        user: str,
        channel: str,
        name: str,
        content: bytes | str | None = None,
        content_base64: str | None = None,
        mimetype: str | None = None,
        text: str = "",
        thread_ts: str | None = None,
    ) -> Delivery:
        """``user`` uploads ``name`` into ``channel`` (with ``text`` as the message): the message's
        Delivery, ``file_id`` set, the ``file_shared`` Delivery in ``results`` when it was sent."""
        if not name or "/" in name:
            raise _err(f"file name {name!r}: give a plain file name")
        data = file_bytes(content, content_base64)
        spec = {"name": name, "content": data, "mimetype": mimetype}
        with self.ws.lock:
            ch = self.ws.channels.get(channel) or self.ws.find_channel(channel)
            if ch is None:
                raise _err(f"unknown channel {channel}")
        d: Delivery = self.post_message(user, ch.id, text, thread_ts=thread_ts, files=[spec])
        with self.ws.lock:
            assert d.ts is not None
            fid = str(ch.msgs[d.ts]["files"][0]["id"])
            event = {
                "type": "file_shared",
                "file_id": fid,
                "user_id": user,
                "file": {"id": fid},
                "channel_id": ch.id,
                "event_ts": self.ws.clock.next_ts(),
            }
        d.file_id = fid
        shared: Delivery = self.deliver_event(event)
        if shared.error != "not subscribed":
            d.results = [*(d.results or [d]), shared]
        return d
