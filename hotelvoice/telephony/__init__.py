"""hotelvoice.telephony."""

from __future__ import annotations
