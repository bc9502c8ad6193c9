"""Helpers of ``bench/calls.py``: a lean WebSocket codec, the fake Realtime model, the fake Twilio.

Each module with a ``main`` runs as its own process (``python -m bench._calls.<name>``) pinned to
the harness core, so the bridge under test keeps its core to itself.
"""
