"""Tests for hotelvoice.realtime."""

from __future__ import annotations
