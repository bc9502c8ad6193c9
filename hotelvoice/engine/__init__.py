"""The embedded offline engine: a Realtime GA model made of local speech and a concierge.

* ``session``: ``LocalSession``, the GA protocol over detector → recogniser → policy → voice;
* ``policy``: the deterministic concierge (what to say, which tool to call);
* ``phrases``: its replies as the words its voice is given (numbers, money, times spelled out);
* ``speech``: ``SpeechKit``, the Whisper recogniser and Piper voice, loaded once and shared
  across calls, and a silero detector per session;
* ``connector``: a ``ModelConnector`` in-process, and the fallback when OpenAI is away;
* ``backlog``: caller audio waiting for the recogniser, bounded;
* ``heap``: the C heap's free pages handed back after a session.
"""

from __future__ import annotations
