"""Process-wide counters and gauges, exposed at ``GET /metrics`` in Prometheus text format.

Every bad input (a malformed Twilio message, a bad signature, a model error) increments a
counter here as well as being logged, so an operator sees problems without reading logs.
"""

from __future__ import annotations

from collections import Counter

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
    "hotelvoice_model_fallbacks_total": "Calls the fallback backend answered, by backend.",
    "hotelvoice_engine_bad_events_total": "Offline engine client events refused, by kind.",
    "hotelvoice_engine_audio_dropped_ms_total": "Caller audio the offline engine's ears were "
    "too far behind to hear, ms.",
    "hotelvoice_engine_links_overflowed_total": "Offline engine sessions closed because the "
    "client left too many events unread.",
}


class Metrics:
    """Counters keyed by name and sorted label pairs. Single-threaded (the Trio loop)."""

    def __init__(self) -> None:
        self._values: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def incr(self, name: str, amount: int = 1, **labels: str) -> None:
        self._values[(name, tuple(sorted(labels.items())))] += amount

    def set(self, name: str, value: int, **labels: str) -> None:
        self._values[(name, tuple(sorted(labels.items())))] = value

    def get(self, name: str, **labels: str) -> int:
        return self._values[(name, tuple(sorted(labels.items())))]

    def total(self, name: str) -> int:
        return sum(v for (n, _), v in self._values.items() if n == name)

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
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
