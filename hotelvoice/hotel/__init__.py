"""The hotel: its tools, its store and its memory of calls.

* ``registry``: tool schemas derived from typed functions, validation, execution;
* ``concierge``: the hotel tools on the store; ``basic``: tools from settings alone;
* ``store``: the SQLite store (inventory, holds, leads, links, SMS outbox, callbacks, calls);
* ``conversation`` and ``records``: what each call said and did, kept as a call record;
* ``payments``: Stripe or signed payment links; ``service``: wires them for the app.
"""

from __future__ import annotations
