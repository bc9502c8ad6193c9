"""hotelvoice.realtime.connection's own WebSocket code against a plain wsproto server on loopback:
our frames (masking keys from the pool, lengths, order under concurrent senders) as a standard
parser sees them, and the server's fragments, pings, close and oversized messages."""

from __future__ import annotations

import json
import random
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import pytest
import trio
import trio.testing
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import FrameProtocol

from hotelvoice.realtime.connection import (
    IDLE_READ,
    RealtimeClosed,
    RealtimeConnection,
    _frame,
    _MaskKeys,
    open_realtime,
)
from hotelvoice.wire.realtime import MAX_EVENT_SIZE

KEY = "sk-test"


class Peer:
    """The server's end of one connection: wsproto over a trio stream, driven by the test.

    Every byte the client sends after its HTTP request is kept in ``raw`` (to read the masking
    keys); ``answer_pings=False`` makes a peer that never pongs.
    """

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.raw = bytearray()
        self.request_seen = False
        self._head = bytearray()
        self.pending: list[Event] = []
        self.answer_pings = True
        self.pings: list[bytes] = []
        self.done = trio.Event()

    async def accept(self) -> Request:
        while True:
            for event in await self._more():
                if isinstance(event, Request):
                    await self.stream.send_all(self.ws.send(AcceptConnection()))
                    return event

    async def _more(self) -> list[Event]:
        data = await self.stream.receive_some(65536)
        if not self.request_seen:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end >= 0:
                self.request_seen = True
                self.raw += self._head[end + 4 :]
        else:
            self.raw += data
        self.ws.receive_data(data or None)
        events = list(self.ws.events())
        for event in events:
            if isinstance(event, Ping):
                self.pings.append(bytes(event.payload))
                if self.answer_pings and self.ws.state is ConnectionState.OPEN:
                    await self.stream.send_all(self.ws.send(event.response()))
        return events

    async def next_event(self) -> Event:
        """The next message, pong or close from the client (pings are answered here)."""
        while not self.pending:
            got = await self._more()
            self.pending += [e for e in got if not isinstance(e, Ping)]
        return self.pending.pop(0)

    async def next_text(self) -> str:
        """The next text message (wsproto hands a large one over in pieces as it arrives)."""
        parts = []
        while True:
            event = await self.next_event()
            assert isinstance(event, TextMessage), event
            parts.append(event.data)
            if event.message_finished:
                return "".join(parts)

    async def send(self, event: Event) -> None:
        await self.stream.send_all(self.ws.send(event))


@asynccontextmanager
async def served(
    nursery: trio.Nursery, **options: object
) -> AsyncIterator[tuple[RealtimeConnection, Peer]]:
    """A wsproto server on loopback and our client connected to it."""
    peers_in, peers_out = trio.open_memory_channel[Peer](1)

    async def handler(stream: trio.SocketStream) -> None:
        peer = Peer(stream)
        await peer.accept()
        await peers_in.send(peer)
        try:
            await peer.done.wait()  # never set: the end of the test cancels this
        finally:
            await trio.aclose_forcefully(stream)

    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    async with open_realtime(
        f"ws://127.0.0.1:{port}/v1/realtime",
        model="m",
        api_key=KEY,
        connect_timeout=5,
        **options,  # type: ignore[arg-type]
    ) as connection:
        yield connection, await peers_out.receive()


def client_frames(raw: bytes) -> list[tuple[int, bytes, bytes]]:
    """Split the client's bytes into (opcode, masking key, unmasked payload), checking that
    every frame is final and masked."""
    frames = []
    at = 0
    while at < len(raw):
        first, second = raw[at], raw[at + 1]
        assert first & 0x80, "not a final frame"
        assert second & 0x80, "not masked"
        length = second & 0x7F
        at += 2
        if length == 126:
            (length,) = struct.unpack_from("!H", raw, at)
            at += 2
        elif length == 127:
            (length,) = struct.unpack_from("!Q", raw, at)
            at += 8
        key = bytes(raw[at : at + 4])
        at += 4
        masked = raw[at : at + length]
        at += length
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(masked))
        frames.append((first & 0x0F, key, payload))
    return frames


# -- frames we send ---------------------------------------------------------------------------


def test_the_mask_pool_gives_fresh_keys_and_refills() -> None:
    pool = _MaskKeys(size=64)  # 16 keys a fill
    keys = [pool.take() for _ in range(200)]
    assert all(len(k) == 4 for k in keys)
    assert len(set(keys)) >= 195  # 200 random 32-bit keys: a repeat is a 5e-6 chance
    pool.forget()
    assert pool.take() not in keys[-16:]


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_a_frame_of_any_length_parses_as_the_same_text(size: int) -> None:
    text = ("é" + "x" * size)[: max(size, 1)] if size else ""
    server = FrameProtocol(client=False, extensions=[])  # wsproto's own parser, server side
    server.receive_bytes(_frame(0x1, text.encode(), b"\x12\x34\x56\x78"))
    frames = list(server.received_frames())
    assert len(frames) == 1 and frames[0].message_finished
    got = frames[0].payload
    assert got == text


async def test_masking_keys_vary_and_a_wsproto_server_reads_every_frame(
    nursery: trio.Nursery,
) -> None:
    sent = [json.dumps({"type": "x", "n": n, "pad": "a" * (n * 37 % 700)}) for n in range(300)]
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        for text in sent:
            await connection.send(text)
        received = [await peer.next_text() for _ in sent]
        assert received == sent
        frames = client_frames(bytes(peer.raw))
        assert [payload.decode() for _, _, payload in frames] == sent
        keys = [key for _, key, _ in frames]
        assert len(set(keys)) >= 295  # fresh keys, not one reused


async def test_concurrent_senders_never_interleave_and_keep_their_order(
    nursery: trio.Nursery,
) -> None:
    big = "z" * 30_000  # a few of these fill the socket, so senders wait and contend
    async with served(nursery, keepalive_interval=None) as (connection, peer):

        async def sender(name: str) -> None:
            for n in range(40):
                await connection.send(json.dumps({"who": name, "n": n, "pad": big}))

        async with trio.open_nursery() as senders:
            for name in ("audio", "pump", "tool"):
                senders.start_soon(sender, name)
            seen: dict[str, list[int]] = {"audio": [], "pump": [], "tool": []}
            for _ in range(120):
                message = json.loads(await peer.next_text())  # whole frames or wsproto fails
                assert message["pad"] == big
                seen[message["who"]].append(message["n"])
        assert all(numbers == list(range(40)) for numbers in seen.values())
        assert len({key for _, key, _ in client_frames(bytes(peer.raw))}) > 100


async def test_a_sender_cancelled_while_waiting_leaves_no_torn_frame(
    nursery: trio.Nursery,
) -> None:
    big = "q" * 200_000
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        cancelled = 0
        for n in range(30):  # nobody reads: the socket fills and these sends wait
            with trio.move_on_after(0.01) as scope:
                await connection.send(json.dumps({"n": n, "pad": big}))
            cancelled += scope.cancelled_caught
        assert cancelled  # some were cut off while waiting...
        numbers: list[object] = []

        async def read_all() -> None:
            while not numbers or numbers[-1] != "last":
                message = json.loads(await peer.next_text())  # ...yet every frame is whole
                numbers.append(message["n"])

        async with trio.open_nursery() as reader:
            reader.start_soon(read_all)
            await connection.send(json.dumps({"n": "last"}))
        assert numbers[-1] == "last"
        assert len(numbers) >= 30 - cancelled + 1
        assert numbers[:-1] == sorted(numbers[:-1])  # type: ignore[type-var]


# -- what the server sends --------------------------------------------------------------------


async def test_fragments_are_joined_and_a_ping_between_them_is_answered(
    nursery: trio.Nursery,
) -> None:
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        await peer.send(TextMessage(data='{"type": "a', message_finished=False))
        await peer.send(Ping(payload=b"mid"))
        await peer.send(TextMessage(data='udio.delta", "x": "caf', message_finished=False))
        await peer.send(TextMessage(data='é"}', message_finished=True))
        assert await connection.receive() == '{"type": "audio.delta", "x": "café"}'
        pong = await peer.next_event()
        assert isinstance(pong, Pong)
        assert pong.payload == b"mid"


async def test_binary_messages_are_decoded_with_replacement(nursery: trio.Nursery) -> None:
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        await peer.send(BytesMessage(data=b'{"a": "\xff"}'))
        assert await connection.receive() == '{"a": "\ufffd"}'


@pytest.mark.parametrize("fragments", [1, 17])
async def test_an_oversized_message_closes_with_1009(nursery: trio.Nursery, fragments: int) -> None:
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        await peer.send(TextMessage(data='{"type": "first"}'))
        chunk = "A" * (MAX_EVENT_SIZE // fragments + 1)

        async def flood() -> None:
            for n in range(fragments):
                await peer.send(TextMessage(data=chunk, message_finished=n == fragments - 1))

        nursery.start_soon(flood)
        assert await connection.receive() == '{"type": "first"}'
        with pytest.raises(RealtimeClosed) as caught:
            await connection.receive()
        assert caught.value.code == 1009
        close = await peer.next_event()
        assert isinstance(close, CloseConnection)
        assert close.code == 1009


async def test_invalid_utf8_closes_with_1007(nursery: trio.Nursery) -> None:
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        await peer.stream.send_all(b"\x81\x02\xc3\x28")  # a text frame, bad UTF-8
        with pytest.raises(RealtimeClosed) as caught:
            await connection.receive()
        assert caught.value.code == 1007


async def test_a_server_close_is_answered_with_its_code(nursery: trio.Nursery) -> None:
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        await peer.send(TextMessage(data="last words"))
        await peer.send(CloseConnection(code=4002, reason="bye"))
        assert await connection.receive() == "last words"
        with pytest.raises(RealtimeClosed) as caught:
            await connection.receive()
        assert (caught.value.code, caught.value.reason) == (4002, "bye")
        reply = await peer.next_event()
        assert isinstance(reply, CloseConnection)
        assert reply.code == 4002
        with pytest.raises(RealtimeClosed):
            await connection.send("{}")


async def test_a_cancelled_receive_loses_nothing(nursery: trio.Nursery) -> None:
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        with trio.move_on_after(0.05) as scope:
            await connection.receive()
        assert scope.cancelled_caught
        await peer.send(TextMessage(data="one"))
        await peer.send(TextMessage(data="two"))
        assert [await connection.receive(), await connection.receive()] == ["one", "two"]


async def test_our_close_frame_goes_out_on_leaving(nursery: trio.Nursery) -> None:
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        pass
    close = await peer.next_event()
    assert isinstance(close, CloseConnection)
    assert close.code == 1000
    assert connection.closed is not None


# -- keepalive --------------------------------------------------------------------------------


async def test_keepalive_pings_and_a_server_that_never_pongs_is_a_drop(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async with served(nursery, keepalive_interval=2.0, keepalive_timeout=3.0) as (conn, peer):
        peer.answer_pings = False

        async def read_forever() -> None:  # the peer reads (and records pings) all the while
            while not isinstance(await peer.next_event(), CloseConnection):
                pass

        nursery.start_soon(read_forever)
        start = trio.current_time()
        with pytest.raises(RealtimeClosed) as caught:
            await conn.receive()
        assert caught.value.code == 1006
        assert trio.current_time() - start == pytest.approx(2.0 + 3.0, abs=0.01)
        assert len(peer.pings) == 1


async def test_keepalive_pongs_are_seen_while_nobody_receives(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async with served(nursery, keepalive_interval=2.0, keepalive_timeout=3.0) as (conn, peer):

        async def read_forever() -> None:
            while not isinstance(await peer.next_event(), CloseConnection):
                pass

        nursery.start_soon(read_forever)
        await trio.sleep(30)  # the client never calls receive
        assert conn.closed is None
        assert len(peer.pings) >= 10
        assert len(set(peer.pings)) == len(peer.pings)  # each ping its own payload


async def test_a_server_close_is_answered_while_nobody_receives(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async with served(nursery) as (conn, peer):
        await peer.send(TextMessage(data="kept"))
        await peer.send(CloseConnection(code=1001, reason="going away"))
        start = trio.current_time()
        reply = await peer.next_event()
        assert isinstance(reply, CloseConnection)
        assert reply.code == 1001
        assert trio.current_time() - start <= IDLE_READ + 0.01
        assert await conn.receive() == "kept"  # read meanwhile, still delivered
        with pytest.raises(RealtimeClosed):
            await conn.receive()


async def test_server_pings_are_answered_while_nobody_receives(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async with served(nursery) as (_conn, peer):
        await peer.send(Ping(payload=b"are you there"))
        pong = await peer.next_event()
        assert isinstance(pong, Pong)
        assert pong.payload == b"are you there"


@pytest.mark.parametrize("seed", range(8))
async def test_messages_split_anywhere_arrive_whole_and_in_order(
    nursery: trio.Nursery, seed: int
) -> None:
    # Whole frames take the link's direct reader, the rest wsproto's parser; a split anywhere
    # (mid-header, mid-payload, between frames) hands the bytes from one to the other.
    rng = random.Random(seed)
    async with served(nursery, keepalive_interval=None) as (connection, peer):
        expected: list[str] = []
        wire = bytearray()
        for n in range(40):
            text = json.dumps({"type": "response.output_audio.delta", "n": n, "x": "é" * n * 7})
            expected.append(text)
            if rng.random() < 0.2:
                wire += peer.ws.send(TextMessage(data=text[:9], message_finished=False))
                wire += peer.ws.send(TextMessage(data=text[9:], message_finished=True))
            else:
                wire += peer.ws.send(TextMessage(data=text))
        cuts = sorted(rng.sample(range(1, len(wire)), 25))
        for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
            await peer.stream.send_all(bytes(wire[start:end]))
            await trio.sleep(0.001)  # separate reads on the client's side
        assert [await connection.receive() for _ in expected] == expected
