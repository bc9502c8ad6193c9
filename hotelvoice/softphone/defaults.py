"""The softphone's caller voice, in a module of its own: the ``hotelvoice`` command names it in
its help without importing the softphone (numpy, the codec, espeak), which a server never needs.
"""

from __future__ import annotations

__all__ = ["DEFAULT_VOICE", "DEFAULT_WPM"]

#: The caller's espeak voice, never the agent's (the offline engine speaks with a Piper voice).
# Of seven espeak voices, 15 hotel lines through the telephone band to the engine's Whisper
# tiny.en: en-gb-x-rp at 140 wpm 11.5 % word errors, en-us+f2 18 %, en-us+klatt3 (the voice
# before Whisper) 26 %; Whisper understands espeak worse than a natural voice (Piper: 13 %).
# Its "yes" is heard as "yet" (8 of 8): the README says "please do" and "go ahead".
DEFAULT_VOICE = "en-gb-x-rp"
DEFAULT_WPM = 140
