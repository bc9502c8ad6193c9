"""hotelvoice.codec."""

from __future__ import annotations
