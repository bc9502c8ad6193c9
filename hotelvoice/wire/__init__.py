"""The wire formats, sans-IO: parse what peers send into typed events, encode what we send.

* ``twilio``: Twilio Media Streams messages (both directions);
* ``realtime``: OpenAI Realtime GA events (client events built, server events parsed);
* ``twiml``: the TwiML documents the webhook and a transfer answer with.

Nothing here does I/O, reads a clock or imports another hotelvoice package: the layers above
feed bytes in and take values out (the h11/wsproto way).
"""

from __future__ import annotations
