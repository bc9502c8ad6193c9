"""The end-to-end stack (real app under Hypercorn, fake Realtime model, fake Twilio REST)."""

from __future__ import annotations

from tests.e2e.conftest import stack  # noqa: F401
