"""A Block Kit view (the App Home) as a reader sees it in Slack, for a browser screenshot: its
mrkdwn through the presentation layer (``bot.present.pages``: names from the directory, emoji,
formatting), plain_text escaped."""

from __future__ import annotations

import html
from typing import Any

from bot.present.commonmark import stylesheet
from bot.present.pages import Pages


def _text(obj: dict[str, Any], pages: Pages) -> str:
    return str(pages.inline(obj["text"])) if obj.get("type") == "mrkdwn" else html.escape(obj["text"])


def view_html(view: dict[str, Any], pages: Pages) -> str:
    blocks = view["blocks"]
    texts = [t["text"] for b in blocks for t in [b.get("text") or {}, *b.get("elements", [])] if "text" in t]
    pages.learn(t for t in texts if isinstance(t, str))
    out = []
    for b in blocks:
        kind = b["type"]
        if kind == "header":
            out.append(f"<h1>{html.escape(b['text']['text'])}</h1>")
        elif kind == "section":
            out.append(f'<p class="section">{"<br>".join(_lines(b["text"], pages))}</p>')
        elif kind == "context":
            out.append(
                '<p class="context empty">' + " ".join(_text(e, pages) for e in b["elements"]) + "</p>"
            )
        elif kind == "actions":
            buttons = (f"<button>{html.escape(e['text']['text'])}</button>" for e in b["elements"])
            out.append('<p class="actions">' + " ".join(buttons) + "</p>")
        elif kind == "divider":
            out.append("<hr>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<style>{stylesheet()}</style></head><body><main id="home">{"".join(out)}</main></body></html>'
    )


def _lines(obj: dict[str, Any], pages: Pages) -> list[str]:
    if obj.get("type") != "mrkdwn":
        return [html.escape(obj["text"])]
    return [str(pages.inline(line)) for line in obj["text"].split("\n")]
