"""Full-text search over incidents: titles, recorded facts, timelines and documents.

- ``query``: what a person typed → plain words (never query syntax), and which words of a text
  they match (for highlighting).
- ``service``: ranked incidents a viewer may see, each with a highlighted snippet, over the indexes
  the database keeps itself (``storage.stores.search``: one row per incident for the rank,
  migration 0016; one per title, facts, event and document for the quotes, migration 0008).

The web UI's ``q=`` uses it. Meant for reuse: ``/incident search`` calls ``service.find`` with
its own ``may_see`` (``bot.incidents.access``); "similar incidents" calls the store's
``search_incidents`` with the incident's own words (title, facts, its finding / root-cause / fix
events) and ``require`` below all of them, and can weight events by their marks (a join of
``search_entries.ref_id`` to ``timeline_marks``) without a new index.
"""
