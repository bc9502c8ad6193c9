"""hotelvoice.calls."""

from __future__ import annotations
