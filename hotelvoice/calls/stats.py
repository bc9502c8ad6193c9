"""Per-call statistics, logged as one line when the call ends."""

from __future__ import annotations

from collections import Counter

import attrs

LOGGED_PROBLEMS_PER_KIND = 5  # after this many log lines of one kind a call only counts


@attrs.define
class CallStats:
    started_at: float
    ended_at: float | None = None
    twilio_in: int = 0
    twilio_out: int = 0
    model_in: int = 0
    model_out: int = 0
    audio_bytes_in: int = 0
    audio_bytes_out: int = 0
    function_calls: int = 0
    barge_ins: int = 0
    truncations: int = 0
    late_deltas_dropped: int = 0
    frames_buffered: int = 0
    frames_dropped: int = 0
    marks_heard: int = 0
    marks_flushed: int = 0
    reconnects: int = 0
    fallbacks: int = 0
    rollovers: int = 0
    problems: Counter[str] = attrs.Factory(Counter)

    def problem(self, kind: str) -> bool:
        """Count a problem of ``kind``; True for the first few of each kind, worth a log line."""
        self.problems[kind] += 1
        return self.problems[kind] <= LOGGED_PROBLEMS_PER_KIND

    def duration_s(self, now: float) -> float:
        end = self.ended_at if self.ended_at is not None else now
        return end - self.started_at

    def summary(self, now: float) -> str:
        fields = attrs.asdict(self, recurse=False)
        fields.pop("started_at")
        fields.pop("ended_at")
        problems = fields.pop("problems")
        parts = [f"duration_s={self.duration_s(now):.1f}"]
        parts += [f"{key}={value}" for key, value in fields.items()]
        if problems:
            parts.append("problems=" + ",".join(f"{k}:{v}" for k, v in sorted(problems.items())))
        return " ".join(parts)
