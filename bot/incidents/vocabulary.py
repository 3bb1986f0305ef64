"""Statuses and milestones: the seed's lifecycle New → Investigating → Root Cause Found → Fixed → Verified."""

from __future__ import annotations

STATUS_ORDER = ("new", "investigating", "root_cause_found", "fixed", "verified")
STATUS_LABELS = {
    "new": "New",
    "investigating": "Investigating",
    "root_cause_found": "Root Cause Found",
    "fixed": "Fixed",
    "verified": "Verified",
}
STATUS_ALIASES = {
    "new": "new",
    "investigating": "investigating",
    "identified": "root_cause_found",
    "root_cause_found": "root_cause_found",
    "rootcause": "root_cause_found",
    "mitigated": "fixed",
    "fixed": "fixed",
    "resolved": "fixed",
    "verified": "verified",
}
# The milestone set the first time a status is reached.
STATUS_MILESTONE = {"root_cause_found": "identified", "fixed": "fixed", "verified": "verified"}
MILESTONE_ORDER = ("started", "detected", "identified", "fixed", "verified")
ALL_MILESTONES = ("started", "detected", "declared", "identified", "fixed", "verified", "closed")
