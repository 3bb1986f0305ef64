"""What the record answers, with every source and nothing sent anywhere.

- ``since``: `since 14:00 | 30m | 2h | <ISO> | since-me`, parsed (pure) and resolved.
- ``catchup``: an incident's state and what was marked since a moment (pure: data in, data out).
- ``similar``: the words of an incident and the ranking of past ones sharing them (pure), over the
  search store's ``search_incidents`` with ``require``.
- ``blocks``: both as Block Kit within Slack's limits; ``service`` reads the record;
  ``listeners``: `/incident catchup`, `/incident similar`, `/incident search`, the card's button.
"""
