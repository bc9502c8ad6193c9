"""The top layer: the ASGI app and its routes, the Hypercorn server, the command line."""

from __future__ import annotations
