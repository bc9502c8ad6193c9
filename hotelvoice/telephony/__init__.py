"""Twilio, from the server's side: request signatures, one-time stream tokens, the REST API
(transfer, hang-up, SMS). The message formats themselves are in :mod:`hotelvoice.wire`."""

from __future__ import annotations
