"""Process-wide counters and gauges, exposed at ``GET /metrics`` in Prometheus text format.

Every bad input (a malformed Twilio message, a bad signature, a model error) increments a
counter here as well as being logged, so an operator sees problems without reading logs.

Label values come from a fixed set: each label of a metric takes at most
``MAX_LABEL_VALUES`` distinct values, later ones are counted as ``"other"``, so a label fed
from outside (a model's error code, a tool's name) cannot grow the process without bound.
Values are cut to ``MAX_LABEL_CHARS`` and escaped for the exposition format.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

# One worker's counters as JSON can carry them: (name, [[label, value], ...], value).
Snapshot = Sequence[tuple[str, Sequence[Sequence[str]], int]]

MAX_LABEL_VALUES = 50  # distinct values per label of one metric; the rest become OVERFLOW
MAX_LABEL_CHARS = 100
OVERFLOW = "other"

_HELP = {
    "hotelvoice_calls_started_total": "Media streams accepted.",
    "hotelvoice_calls_ended_total": "Calls ended, by reason.",
    "hotelvoice_calls_active": "Calls in progress.",
    "hotelvoice_webhooks_total": "Voice webhooks answered, by outcome.",
    "hotelvoice_signature_failures_total": "Requests refused for a bad Twilio signature.",
    "hotelvoice_stream_token_failures_total": "Media streams refused for a bad stream token.",
    "hotelvoice_twilio_bad_messages_total": "Twilio messages that could not be used, by kind.",
    "hotelvoice_model_bad_events_total": "Model events that could not be used, by kind.",
    "hotelvoice_model_errors_total": "Model error events, by code.",
    "hotelvoice_model_reconnects_total": "Model sockets reopened after a drop.",
    "hotelvoice_invalid_call_events_total": "Events the call state machine refused.",
    "hotelvoice_tool_calls_total": "Tool calls, by tool and outcome.",
    "hotelvoice_barge_ins_total": "Caller barge-ins that cleared playback.",
    "hotelvoice_transfers_total": "Transfers to a human, by outcome.",
    "hotelvoice_rest_failures_total": "Failed Twilio REST requests, by action.",
    "hotelvoice_model_fallbacks_total": "Calls handed to the fallback backend, by reason "
    "(connect_failed, setup_timeout, reconnects_exhausted).",
    "hotelvoice_model_rollovers_total": "Model sessions renewed before their time limit.",
    "hotelvoice_engine_bad_events_total": "Offline engine client events refused, by kind.",
    "hotelvoice_engine_audio_dropped_ms_total": "Caller audio the offline engine's ears were "
    "too far behind to hear, ms.",
    "hotelvoice_engine_links_overflowed_total": "Offline engine sessions closed because the "
    "client left too many events unread.",
    "hotelvoice_engine_sockets_total": "WS /v1/realtime sockets, by outcome.",
    "hotelvoice_engine_sockets_refused_total": "WS /v1/realtime sockets refused before accept, "
    "by reason.",
    "hotelvoice_media_sockets_prestart_active": "Media sockets open and still waiting for "
    "Twilio's start.",
    "hotelvoice_media_sockets_evicted_total": "Media sockets closed while waiting for start, "
    "to make room for a newer one.",
    "hotelvoice_webhooks_refused_total": "Webhooks refused by their headers, size, form or "
    "signature, by route and reason.",
    "hotelvoice_webhook_values_dropped_total": "Webhook fields dropped as too long or "
    "unprintable, by field.",
    "hotelvoice_payment_page_views_total": "Payment pages served, by HTTP status.",
    "hotelvoice_call_record_failures_total": "Call record writes given up, by stage.",
    "hotelvoice_call_record_retries_total": "Call record batches retried on a locked database.",
    "hotelvoice_calls_interrupted_total": "Calls a crash left open, closed at start-up as "
    "interrupted by restart.",
}


class Metrics:
    """Counters keyed by name and sorted label pairs. Single-threaded (the Trio loop)."""

    def __init__(self) -> None:
        self._values: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        # The values each (metric, label) has taken, at most MAX_LABEL_VALUES.
        self._seen: dict[tuple[str, str], set[str]] = {}

    def _key(
        self, name: str, labels: dict[str, str], *, adding: bool
    ) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The counter's key: values cut, and past the cap of their label counted as other."""
        if not labels:
            return (name, ())
        pairs = []
        for label, value in sorted(labels.items()):
            value = value[:MAX_LABEL_CHARS]
            seen = self._seen.get((name, label))
            if seen is None:
                seen = self._seen[(name, label)] = set()
            if value not in seen:
                if len(seen) >= MAX_LABEL_VALUES:
                    value = OVERFLOW
                elif adding:
                    seen.add(value)
            pairs.append((label, value))
        return (name, tuple(pairs))

    def incr(self, name: str, amount: int = 1, **labels: str) -> None:
        self._values[self._key(name, labels, adding=True)] += amount

    def set(self, name: str, value: int, **labels: str) -> None:
        self._values[self._key(name, labels, adding=True)] = value

    def get(self, name: str, **labels: str) -> int:
        return self._values.get(self._key(name, labels, adding=False), 0)

    def total(self, name: str) -> int:
        return sum(v for (n, _), v in self._values.items() if n == name)

    def snapshot(self) -> list[tuple[str, list[list[str]], int]]:
        """Every counter and gauge, for another process to add up (see :class:`SharedMetrics`)."""
        return [
            (name, [[k, v] for k, v in labels], value)
            for (name, labels), value in self._values.items()
        ]

    def add(self, snapshot: Snapshot) -> None:
        """Add another process's counters and gauges to these, label caps applied."""
        for name, labels, value in snapshot:
            key = self._key(name, {str(k): str(v) for k, v in labels}, adding=True)
            self._values[key] += int(value)

    def render(self) -> str:
        """The Prometheus text exposition of every counter."""
        lines: list[str] = []
        for name in sorted({n for n, _ in self._values}):
            kind = "gauge" if name.endswith("_active") else "counter"
            lines.append(f"# HELP {name} {_HELP.get(name, name)}")
            lines.append(f"# TYPE {name} {kind}")
            for (n, labels), value in sorted(self._values.items()):
                if n != name:
                    continue
                if labels:
                    rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    lines.append(f"{name}{{{rendered}}} {value}")
                else:
                    lines.append(f"{name} {value}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    """A label value as the text format writes it: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class SharedMetrics(Metrics):
    """One worker's metrics whose exposition is the sum over every worker
    (``hotelvoice serve --workers N``): ``peers`` returns the other workers' latest
    snapshots (each publishes its own every second and at exit, ``web/workers.py``).
    Counters and gauges alike are summed; the label caps hold for the sum too."""

    def __init__(self, peers: Callable[[], Iterable[Snapshot]]) -> None:
        super().__init__()
        self._peers = peers

    def render(self) -> str:
        total = Metrics()
        total.add(self.snapshot())
        for snapshot in self._peers():
            total.add(snapshot)
        return total.render()
