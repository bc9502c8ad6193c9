"""The embedded offline engine: the Realtime GA protocol over a local speech loop."""

from __future__ import annotations
