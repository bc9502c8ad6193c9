"""Wall-clock time for what is stamped with real time (records, tool contexts).

Call logic runs on Trio's clock instead (``trio.current_time``), which tests can drive.
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)
