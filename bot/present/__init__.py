"""The one presentation layer: what every surface people read (the web UI, the investigation
document in Markdown and HTML) goes through.

- Slack text → tree → Markdown / HTML / plain: ``bot.slack.mrkdwn`` (names through
  ``bot.slack.directory``), wrapped here for pages (``slack_html``, ``person``).
- Markdown → HTML: one CommonMark renderer (``commonmark``), used for the web UI's document view
  and for the HTML copy of the document, which is that rendering in a page.
- Dates and durations: one format each (``formats``).
- One stylesheet (``style.css``) shared by the web UI and the HTML document.
"""
