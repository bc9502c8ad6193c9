"""Random identifiers: the project's ``prefix_hex`` ids and Twilio-style SIDs."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """``prefix``, an underscore and 16 random hex digits: ``new_id("res")`` is ``res_9f…``."""
    return f"{prefix}_{secrets.token_hex(8)}"


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two letters ("CA", "AC", "MZ") and 32 hex digits."""
    return prefix + secrets.token_hex(16)
