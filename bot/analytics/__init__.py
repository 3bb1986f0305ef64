"""Incident analytics: durations per period and severity, charts, the stats command."""
