"""The shipped alerts (deploy/prometheus/incident-bot-rules.yml, which the Helm chart's PrometheusRule
renders: `make validate-deploy` checks that) parse, alert on what the operator guide promises, and
name only metrics that /metrics really exposes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.ops.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "incident-bot-rules.yml"

# --- a small PromQL reader: the subset these rules use, strict enough to catch a typo ------------
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:e\d+)?)|(?P<dur>\[\d+[smhdw]\])|(?P<str>\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){},])|(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*))"
)
AGGREGATIONS = {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile"}
RANGE_FUNCTIONS = {"rate", "irate", "increase", "delta", "idelta", "deriv", "max_over_time", "min_over_time"}
FUNCTIONS = RANGE_FUNCTIONS | {"abs", "clamp_min", "clamp_max", "histogram_quantile", "vector", "absent"}
BINARY = {"+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless"}


class PromQL:
    def __init__(self, expr: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(expr.rstrip()):
            m = _TOKEN.match(expr, pos)
            if not m or m.end() == pos:
                raise ValueError(f"cannot read {expr[pos:]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.metrics: set[str] = set()

    def parse(self) -> set[str]:
        """The metric names the expression reads; ValueError when it is not PromQL."""
        self.expr()
        if self.i != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.i][1]!r}")
        return self.metrics

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None, kind: str | None = None) -> str:
        if self.i >= len(self.tokens):
            raise ValueError(f"ends early (expected {expected or kind})")
        k, v = self.tokens[self.i]
        if (expected is not None and v != expected) or (kind is not None and k != kind):
            raise ValueError(f"expected {expected or kind}, got {v!r}")
        self.i += 1
        return v

    def expr(self) -> bool:
        """Returns whether the last operand is a range vector (only valid inside a range function)."""
        ranged = self.operand()
        while self.peek() in BINARY:
            self.take()
            if self.peek() == "bool":
                self.take()
            ranged = self.operand()
        return ranged

    def operand(self) -> bool:
        if self.peek() == "-":
            self.take()
        kind, value = self.tokens[self.i] if self.i < len(self.tokens) else ("", "")
        if kind == "num":
            self.take()
            return False
        if value == "(":
            self.take()
            ranged = self.expr()
            self.take(")")
            return ranged
        name = self.take(kind="name")
        if name in AGGREGATIONS:
            self.grouping()
            self.take("(")
            if self.expr():
                raise ValueError(f"{name}() of a range vector")
            self.take(")")
            self.grouping()
            return False
        if name in FUNCTIONS and self.peek() == "(":
            self.take("(")
            ranged = self.expr()
            while self.peek() == ",":  # histogram_quantile(φ, v), clamp_min(v, n)…
                self.take(",")
                ranged = self.expr() or ranged
            self.take(")")
            if ranged != (name in RANGE_FUNCTIONS):
                raise ValueError(f"{name}() needs {'a' if name in RANGE_FUNCTIONS else 'no'} range vector")
            return False
        self.metrics.add(name)
        if self.peek() == "{":
            self.take("{")
            while self.peek() != "}":
                self.take(kind="name")
                if self.take(kind="op") not in ("=", "!=", "=~", "!~"):
                    raise ValueError("bad label matcher")
                self.take(kind="str")
                if self.peek() == ",":
                    self.take(",")
            self.take("}")
        if self.i < len(self.tokens) and self.tokens[self.i][0] == "dur":
            self.take()
            return True
        return False

    def grouping(self) -> None:
        if self.peek() in ("by", "without"):
            self.take()
            self.take("(")
            while self.peek() != ")":
                self.take(kind="name")
                if self.peek() == ",":
                    self.take(",")
            self.take(")")


def exposed_names() -> set[str]:
    """Every sample name /metrics can carry (counters end in _total, histograms in _bucket…)."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "info": ["_info"]}
    return {
        family.name + suffix for family in REGISTRY.collect() for suffix in suffixes.get(family.type, [""])
    }


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_each_alert_parses_and_reads_only_metrics_the_bot_exposes(rule: dict[str, Any]) -> None:
    metrics = PromQL(rule["expr"]).parse()
    assert metrics, rule["expr"]
    assert metrics <= exposed_names(), f"not exposed by the bot: {sorted(metrics - exposed_names())}"
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_alerts_cover_what_the_operator_guide_promises() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in rules()}
    promised = {
        'incident_bot_deliveries_total{outcome="dropped"}': "> 0",
        "incident_bot_spool_oldest_age_seconds": "> 300",
        "incident_bot_documents_failed_total": "> 0",
        "incident_bot_scheduler_runs_failed_total": "> 0",
        'incident_bot_database_errors_total{kind="schema"}': "> 0",
        'incident_bot_database_errors_total{kind="unreachable"}': "> 0",
        "incident_bot_slack_api_calls_failed_total": "> 0.1",
        "incident_bot_outbox_failed_total": "> 0",
    }
    for selector, threshold in promised.items():
        assert any(selector in e and e.rstrip().endswith(threshold) for e in exprs.values()), selector
    guide = (ROOT / "docs" / "operate" / "monitoring.md").read_text()
    assert [a for a in exprs if a not in guide] == [], (
        "every alert is explained in docs/operate/monitoring.md"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "sum(rate(incident_bot_deliveries_total[5m]) > 0",
        "rate(incident_bot_deliveries_total) > 0",
        "incident_bot_deliveries_total{outcome=dropped} > 0",
        "sum(incident_bot_spool_depth[5m])",
        "incident_bot_spool_depth >",
    ],
)
def test_the_reader_refuses_what_prometheus_would(bad: str) -> None:
    with pytest.raises(ValueError):
        PromQL(bad).parse()
