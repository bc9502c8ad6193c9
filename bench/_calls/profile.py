"""Summaries of a py-spy ``--format raw`` (collapsed stacks) profile of the bridge."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_IDLE = ("epoll", "get_events", "poll (")


def _short(frame: str, root: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    path = path.removeprefix(root)
    return f"{match.group('func')} ({path})"


def summarize(collapsed: Path, *, top: int = 15, root: str = "") -> list[str]:
    """Top functions by self and by inclusive samples, idle (epoll wait) samples left out."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f, root) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        if any(marker in frames[-1] for marker in _IDLE):
            idle += count
            continue
        self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    busy = total - idle
    if not busy:
        return ["  (no busy samples)"]
    lines = [f"  {total} samples, {busy} busy ({busy / total:.0%}); shares below are of busy time"]
    lines.append("  self time:")
    lines += [f"    {n / busy:6.1%}  {name}" for name, n in self_time.most_common(top)]
    lines.append("  inclusive time (hotelvoice and library frames):")
    shown = 0
    for name, n in inclusive.most_common():
        if "trio/_core/_run.py" in name or name.startswith(("<module>", "run (", "_run_code")):
            continue
        lines.append(f"    {n / busy:6.1%}  {name}")
        shown += 1
        if shown >= top:
            break
    return lines
