"""The softphone's one exception type."""

from __future__ import annotations

__all__ = ["SoftphoneError"]


class SoftphoneError(Exception):
    """The call could not be placed or run; ``str(exc)`` is a one-line explanation meant for
    the person at the keyboard (``hotelvoice call`` prints it and exits with 1)."""
