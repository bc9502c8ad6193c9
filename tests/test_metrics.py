"""Metric label values come from a bounded set, and render as valid Prometheus text."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from hotelvoice.metrics import _HELP as HELP
from hotelvoice.metrics import (
    MAX_LABEL_CHARS,
    MAX_LABEL_VALUES,
    OVERFLOW,
    Metrics,
    SharedMetrics,
    Snapshot,
)


def test_a_label_takes_a_bounded_number_of_values_the_rest_are_other() -> None:
    metrics = Metrics()
    for i in range(10_000):
        metrics.incr("hotelvoice_model_errors_total", code=f"code_{i}")
    assert metrics.get("hotelvoice_model_errors_total", code="code_0") == 1
    assert metrics.get("hotelvoice_model_errors_total", code=f"code_{MAX_LABEL_VALUES - 1}") == 1
    assert metrics.get("hotelvoice_model_errors_total", code=OVERFLOW) == 10_000 - MAX_LABEL_VALUES
    assert metrics.get("hotelvoice_model_errors_total", code="code_9999") == (
        10_000 - MAX_LABEL_VALUES
    )  # an overflowed value reads as what it was counted as
    assert metrics.total("hotelvoice_model_errors_total") == 10_000
    rendered = metrics.render()
    assert rendered.count("hotelvoice_model_errors_total{") == MAX_LABEL_VALUES + 1
    # A value seen before the cap keeps its own series.
    metrics.incr("hotelvoice_model_errors_total", code="code_3")
    assert metrics.get("hotelvoice_model_errors_total", code="code_3") == 2


def test_the_cap_is_per_metric_and_per_label() -> None:
    metrics = Metrics()
    for i in range(MAX_LABEL_VALUES + 5):
        metrics.incr("hotelvoice_tool_calls_total", tool=f"t{i}", outcome="timeout")
    metrics.incr("hotelvoice_calls_ended_total", reason="hung_up")
    assert metrics.get("hotelvoice_calls_ended_total", reason="hung_up") == 1
    assert metrics.get("hotelvoice_tool_calls_total", tool=OVERFLOW, outcome="timeout") == 5
    metrics.incr("hotelvoice_tool_calls_total", tool="t0", outcome="ok")
    assert metrics.get("hotelvoice_tool_calls_total", tool="t0", outcome="ok") == 1


def test_reading_an_unseen_value_does_not_use_up_the_cap() -> None:
    metrics = Metrics()
    for i in range(1_000):
        assert metrics.get("hotelvoice_webhooks_total", outcome=f"x{i}") == 0
    for i in range(MAX_LABEL_VALUES):
        metrics.incr("hotelvoice_webhooks_total", outcome=f"y{i}")
    assert metrics.get("hotelvoice_webhooks_total", outcome=OVERFLOW) == 0


def test_label_values_are_cut_and_escaped_in_the_exposition() -> None:
    metrics = Metrics()
    metrics.incr("hotelvoice_model_errors_total", code='a"b\\c\nd')
    metrics.incr("hotelvoice_model_errors_total", code="z" * 10_000)
    rendered = metrics.render()
    assert 'hotelvoice_model_errors_total{code="a\\"b\\\\c\\nd"} 1' in rendered
    assert f'{{code="{"z" * MAX_LABEL_CHARS}"}} 1' in rendered
    assert all(len(line) < 300 for line in rendered.splitlines())
    # Every sample line is a name, an optional label set and a value.
    samples = [line for line in rendered.splitlines() if not line.startswith("#")]
    assert len(samples) == 2


def test_a_workers_exposition_is_the_sum_over_every_worker() -> None:
    other = Metrics()
    other.incr("hotelvoice_calls_started_total", 3)
    other.set("hotelvoice_calls_active", 2)
    other.incr("hotelvoice_webhooks_total", outcome="stream")
    other.incr("hotelvoice_tool_calls_total", tool="only_there", outcome="ok")
    published: list[Snapshot] = [json.loads(json.dumps(other.snapshot()))]  # as it travels
    own = SharedMetrics(lambda: published)
    own.incr("hotelvoice_calls_started_total", 4)
    own.set("hotelvoice_calls_active", 1)
    own.incr("hotelvoice_webhooks_total", 2, outcome="stream")
    rendered = own.render()
    assert "hotelvoice_calls_started_total 7" in rendered
    assert "hotelvoice_calls_active 3" in rendered
    assert 'hotelvoice_webhooks_total{outcome="stream"} 3' in rendered
    assert 'hotelvoice_tool_calls_total{outcome="ok",tool="only_there"} 1' in rendered
    # The worker's own counts (its /healthz) stay its own.
    assert own.get("hotelvoice_calls_active") == 1


def test_the_label_cap_holds_for_the_sum() -> None:
    first, second = Metrics(), Metrics()
    for n in range(MAX_LABEL_VALUES):
        first.incr("hotelvoice_model_errors_total", code=f"a{n}")
        second.incr("hotelvoice_model_errors_total", code=f"b{n}")
    total = SharedMetrics(lambda: [second.snapshot()])
    total.add(first.snapshot())
    rendered = total.render()
    samples = [line for line in rendered.splitlines() if line.startswith("hotelvoice_model_")]
    assert len(samples) == MAX_LABEL_VALUES + 1
    assert f'hotelvoice_model_errors_total{{code="{OVERFLOW}"}} {MAX_LABEL_VALUES}' in rendered


def _metric_names_in_code() -> set[str]:
    """Every metric name hotelvoice passes to ``Metrics.incr``/``set`` as a literal."""
    names: set[str] = set()
    for path in (Path(__file__).resolve().parent.parent / "hotelvoice").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"incr", "set"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).startswith("hotelvoice_")
            ):
                names.add(str(node.args[0].value))
    return names


def test_every_metric_the_code_counts_has_help_text() -> None:
    names = _metric_names_in_code()
    assert "hotelvoice_webhooks_refused_total" in names  # the scan finds them
    missing = sorted(name for name in names if name not in HELP)
    assert not missing, f"add help text to metrics._HELP for {missing}"
