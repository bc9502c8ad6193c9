"""WebSocket text frames read and written without wsproto's parser, for the audio path (sans-IO).

A Twilio media message or a model event is almost always one whole, unfragmented text frame
that arrives in one read. wsproto parses each with a generator, an event object and several
buffers; reading the common frame directly costs a fraction of that (see docs/architecture.md,
Capacity). Anything else is left to wsproto, which stays the authority on what is refused:
:func:`whole_text_frames` only takes frames it can read completely and stops at the first it
cannot, so the rest of the bytes go to wsproto unchanged. The tests compare both readers on
random byte streams split at random.
"""

from __future__ import annotations

import struct

__all__ = ["server_text_frame", "whole_text_frames"]

_FIN_TEXT = 0x81  # FIN, no RSV bits, opcode 1 (text)
_HEADER_SHORT = struct.Struct("!BB")
_HEADER_16 = struct.Struct("!BBH")
_HEADER_64 = struct.Struct("!BBQ")


def server_text_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked text frame (a server's) carrying ``payload`` (RFC 6455 §5.2)."""
    length = len(payload)
    if length <= 125:
        return _HEADER_SHORT.pack(_FIN_TEXT, length) + payload
    if length <= 0xFFFF:
        return _HEADER_16.pack(_FIN_TEXT, 126, length) + payload
    return _HEADER_64.pack(_FIN_TEXT, 127, length) + payload


def whole_text_frames(data: bytes, max_length: int, *, masked: bool) -> tuple[list[str], int]:
    """The whole, unfragmented text frames at the start of ``data``, their text, and how many
    bytes they take. ``masked``: a client's frames (a server reads them); else a server's.

    Stops at the first frame it does not take as a whole: incomplete, not text, fragmented,
    RSV bits, masked when it must not be or the reverse, a length not in its shortest form,
    over ``max_length`` characters, or not UTF-8; wsproto parses the rest (and refuses what it
    must). Each text is exactly what wsproto's ``TextMessage`` would carry.
    """
    texts: list[str] = []
    at = 0
    end = len(data)
    key_size = 4 if masked else 0
    mask_bit = 0x80 if masked else 0
    while end - at >= 2 + key_size:
        if data[at] != _FIN_TEXT:
            break
        second = data[at + 1]
        if second & 0x80 != mask_bit:  # wsproto closes with 1002
            break
        length = second & 0x7F
        start = at + 2
        if length == 126:
            length = int.from_bytes(data[start : start + 2], "big")
            start += 2
            if length < 126:
                break
        elif length == 127:
            length = int.from_bytes(data[start : start + 8], "big")
            start += 8
            if length <= 0xFFFF or length >> 63:
                break
        stop = start + key_size + length
        if stop > end or length > 4 * max_length + 4:
            break
        payload = data[start + key_size : stop]
        if masked and length:
            mask = data[start : start + 4]
            key = (mask * (length // 4 + 1))[:length]
            payload = (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
                length, "little"
            )
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            break
        if len(text) > max_length:
            break
        texts.append(text)
        at = stop
    return texts, at
