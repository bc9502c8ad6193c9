"""wire.wsframes against wsproto: the same messages from the same bytes, however they are split."""

from __future__ import annotations

import random

from wsproto import ConnectionType
from wsproto.connection import Connection, ConnectionState
from wsproto.events import BytesMessage, Event, Message, Ping, TextMessage

from hotelvoice.wire.wsframes import server_text_frame, whole_text_frames


def _server_frames(rng: random.Random) -> bytes:
    """A server's frames: mostly whole text, with fragments, binary, pings, and frames a
    client must refuse (masked, a long length form for a short payload, not UTF-8)."""
    server = Connection(ConnectionType.SERVER)
    out = bytearray()
    for _ in range(rng.randrange(1, 12)):
        text = "".join(rng.choice('aé€😀{}" ') for _ in range(rng.randrange(0, 300)))
        kind = rng.random()
        if kind < 0.55:
            out += server.send(TextMessage(text))
        elif kind < 0.7:
            out += server.send(TextMessage(text[:5], message_finished=False))
            out += server.send(TextMessage(text[5:]))
        elif kind < 0.75:
            out += server.send(BytesMessage(text.encode()))
        elif kind < 0.8:
            out += server.send(Ping(b"p"))
        elif kind < 0.85:  # a 2-byte length where 1 byte would do: a protocol error
            out += b"\x81\x7e\x00\x05hello"
        elif kind < 0.9:  # not UTF-8
            out += b"\x81\x02\xff\xfe"
        elif kind < 0.95:  # masked, from a server: a protocol error
            out += b"\x81\x82" + b"\x00" * 4 + b"hi"
        else:
            out += server.send(TextMessage("x" * 70000))  # the 8-byte length form
    return bytes(out)


def _messages(events: list[Event]) -> list[object]:
    out: list[object] = []
    parts: list[str | bytes] = []
    for event in events:
        if isinstance(event, Message):
            parts.append(event.data)
            if event.message_finished:
                text = "".join(map(str, parts))
                out.append(text if isinstance(event, TextMessage) else parts[0])
                parts = []
        else:
            out.append(type(event).__name__)
    return out


def _holds_nothing(connection: Connection) -> bool:
    proto = connection._proto
    decoder = proto._frame_decoder
    return (
        decoder.header is None
        and not decoder.buffer.buffer
        and proto._message_decoder.opcode is None
        and not connection._events
    )


def _read_both_ways(seed: int) -> int:
    """Random server bytes, split at random, read by wsproto alone and by the direct reader
    with wsproto for the rest: the messages must be the same. Returns how many went direct."""
    rng = random.Random(seed)
    data = _server_frames(rng)
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randrange(0, 4))))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    plain = Connection(ConnectionType.CLIENT)
    plain_events: list[Event] = []
    lean = Connection(ConnectionType.CLIENT)
    lean_events: list[Event] = []
    direct = 0
    for chunk in chunks:
        plain.receive_data(chunk)
        plain_events.extend(plain.events())
        if lean.state is ConnectionState.OPEN and _holds_nothing(lean):
            texts, used = whole_text_frames(chunk, 100_000, masked=False)
            lean_events.extend(TextMessage(text) for text in texts)
            direct += len(texts)
            chunk = chunk[used:]
        if chunk:
            lean.receive_data(chunk)
            lean_events.extend(lean.events())
        if plain.state is not ConnectionState.OPEN:
            break  # wsproto refused something: the connection is closing
    assert _messages(lean_events) == _messages(plain_events), seed
    return direct


def test_whole_server_frames_are_read_as_wsproto_reads_them() -> None:
    direct = sum(_read_both_ways(seed) for seed in range(400))
    assert direct > 300  # whole text frames took the direct path (348 on these seeds)


def test_frames_it_does_not_take_are_left_whole() -> None:
    assert whole_text_frames(b"\x81\x02hi\x81\x01!", 10, masked=False) == (["hi", "!"], 7)
    assert whole_text_frames(b"\x81\x02h", 10, masked=False) == ([], 0)  # incomplete
    assert whole_text_frames(b"\x81\x02hi\x89\x00", 10, masked=False) == (["hi"], 4)  # a ping
    assert whole_text_frames(b"\x01\x02hi", 10, masked=False) == ([], 0)  # fragmented
    assert whole_text_frames(b"\x81\x02\xff\xfe", 10, masked=False) == ([], 0)  # not UTF-8
    masked = b"\x81\x82" + b"\x00" * 4 + b"hi"
    assert whole_text_frames(masked, 10, masked=False) == ([], 0)
    assert whole_text_frames(masked, 10, masked=True) == (["hi"], 8)
    assert whole_text_frames(server_text_frame(b"x" * 11), 10, masked=False) == ([], 0)


def test_a_server_text_frame_is_wsprotos() -> None:
    for length in (0, 1, 125, 126, 65535, 65536, 70000):
        payload = "é" * (length // 2) + "x" * (length % 2)
        expected = Connection(ConnectionType.SERVER).send(TextMessage(payload))
        assert server_text_frame(payload.encode()) == expected
