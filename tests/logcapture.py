"""What ``hotelvoice serve`` would write for a logger: its records formatted behind the safe
filter (``hotelvoice.logsafe``), counted, kept in memory for a test to read."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

from hotelvoice.logsafe import FORMAT, SafeLogFilter


class Output:
    """A handler's formatted output, and how many records it emitted."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.records = 0

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@contextlib.contextmanager
def safe_log_output(logger_name: str, level: int) -> Iterator[Output]:
    """Capture ``logger_name`` at ``level`` through a :class:`SafeLogFilter`, as serve does."""
    out = Output()

    class Counting(logging.StreamHandler[io.StringIO]):
        def emit(self, record: logging.LogRecord) -> None:
            out.records += 1
            super().emit(record)

    handler = Counting(out.stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SafeLogFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
