"""Understanding what callers say, as text: no audio, no I/O, no clocks.

* ``extraction``: intents, dates, party sizes, names and transfer targets from an utterance;
* ``when``: "tomorrow at 3 pm" as a moment in the hotel's time zone.
"""

from __future__ import annotations
