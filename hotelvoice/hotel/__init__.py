"""hotelvoice.hotel."""

from __future__ import annotations
