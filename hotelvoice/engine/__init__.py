"""The embedded offline engine: a Realtime GA model made of local speech and a concierge.

* ``session``: ``LocalSession``, the GA protocol over detector → recogniser → policy → voice;
* ``policy``: the deterministic concierge (what to say, which tool to call);
* ``phrases``: its replies as words, and a grammar of them for the softphone;
* ``grammar``: what callers say, as the recogniser's JSGF grammar;
* ``speech``: ``SpeechKit``, the per-property recognisers and voice, shared across calls;
* ``connector``: a ``ModelConnector`` in-process, and the fallback when OpenAI is away.
"""

from __future__ import annotations
