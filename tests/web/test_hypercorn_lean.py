"""Hypercorn's leaner per-message paths (``web/hypercorn_lean``) behave at the socket as
Hypercorn's own: each scenario runs against a real Hypercorn on loopback, once unpatched and
once patched, with a raw wsproto client playing the peer."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, cast

import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from hypercorn.typing import ASGIFramework
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection, ConnectionState
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

from hotelvoice.web import hypercorn_lean

MAX_MESSAGE = 64 * 1024
BIG = 16 * 1024  # one message of the backpressure scenarios
MANY = 2048  # 32 MiB of them: far beyond what the kernel's socket buffers hold on loopback
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@contextmanager
def lean(enabled: bool) -> Iterator[None]:
    """Hypercorn patched or not for the block; the process's state is restored after it."""
    was = hypercorn_lean.installed()
    if enabled:
        hypercorn_lean.install()
    else:
        hypercorn_lean.uninstall()
    try:
        yield
    finally:
        hypercorn_lean.uninstall()
        if was:
            hypercorn_lean.install()


class App:
    """An ASGI app whose WebSocket routes script the server's side; what it saw is in ``seen``."""

    def __init__(self) -> None:
        self.seen: list[object] = []
        self.conversations: list[list[dict[str, Any]]] = []  # /echo's, one list per connection
        self.echoes_ended = 0
        self.release = trio.Event()
        self.flood_done = trio.Event()
        self.flood_sent = 0
        self._progress = trio.Event()

    def _moved(self) -> None:
        self._progress.set()
        self._progress = trio.Event()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition()`` holds (checked each time an echo ends or stall reads)."""
        while not condition():
            await self._progress.wait()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await getattr(self, scope["path"].strip("/"))(receive, send)

    async def echo(self, receive: Receive, send: Send) -> None:
        seen: list[dict[str, Any]] = []
        self.conversations.append(seen)
        try:
            await self._echo(seen, receive, send)
        finally:
            self.echoes_ended += 1
            self._moved()

    async def _echo(self, seen: list[dict[str, Any]], receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text == "return":
                return  # Hypercorn closes with 1011
            if text is not None and text.startswith("close:"):
                await send({"type": "websocket.close", "code": int(text[6:])})
                return
            if text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})

    async def stall(self, receive: Receive, send: Send) -> None:
        await self.release.wait()
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            self.seen.append(message["text"][:8])
            self._moved()

    async def flood(self, receive: Receive, send: Send) -> None:
        payload = "x" * BIG
        for _ in range(MANY):
            await send({"type": "websocket.send", "text": payload})
            self.flood_sent += 1
        self.flood_done.set()


@asynccontextmanager
async def served(app: App, enabled: bool) -> AsyncIterator[int]:
    """Hypercorn (trio worker) serving ``app`` on loopback; yields its port."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    config.websocket_max_message_size = MAX_MESSAGE
    with lean(enabled):
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(serve, cast("ASGIFramework", app), config)
            yield int(binds[0].rsplit(":", 1)[1])
            nursery.cancel_scope.cancel()


class Client:
    """The peer: wsproto's client over a plain TCP stream, every byte under the test's control."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events: deque[Event] = deque()

    @classmethod
    async def open(cls, port: int, path: str) -> Client:
        client = cls(await trio.open_tcp_stream("127.0.0.1", port))
        await client.stream.send_all(client.ws.send(Request(host="127.0.0.1", target=path)))
        assert isinstance(await client.next_event(), AcceptConnection)
        return client

    async def send(self, event: Event, *, chunk: int | None = None) -> None:
        data = self.ws.send(event)
        step = chunk or len(data)
        for at in range(0, len(data), step):  # chunk=1: one byte per TCP write
            await self.stream.send_all(data[at : at + step])

    async def next_event(self) -> Event:
        """The next event from the server, a message whole; waits for it (CloseConnection
        1006 on EOF)."""
        while True:
            while not self.events:
                data = await self.stream.receive_some(65536)
                self.ws.receive_data(data or None)
                self.events.extend(self.ws.events())
            event = self.events.popleft()
            if not isinstance(event, TextMessage | BytesMessage) or event.message_finished:
                return event
            rest = await self.next_event()  # the message's next part
            if isinstance(event, TextMessage):
                assert isinstance(rest, TextMessage)
                return TextMessage(data=event.data + rest.data)
            assert isinstance(rest, BytesMessage)
            return BytesMessage(data=bytes(event.data) + bytes(rest.data))


def _describe(event: Event) -> object:
    if isinstance(event, TextMessage | BytesMessage):
        return (type(event).__name__, event.data, event.message_finished)
    if isinstance(event, CloseConnection):
        return ("close", int(event.code))
    if isinstance(event, Pong):
        return ("pong", bytes(event.payload))
    return type(event).__name__


async def _conversation(enabled: bool) -> tuple[list[object], list[list[dict[str, Any]]]]:
    """What the client and the app see over several connections: (client's, app's)."""
    app = App()
    heard: list[object] = []
    async with served(app, enabled) as port:
        client = await Client.open(port, "/echo")
        await client.send(TextMessage('{"event":"media","payload":"é€"}'))
        heard.append(_describe(await client.next_event()))
        await client.send(TextMessage("split across writes" * 20), chunk=1)
        heard.append(_describe(await client.next_event()))
        await client.send(TextMessage("frag", message_finished=False))
        await client.send(TextMessage("mented", message_finished=True))
        heard.append(_describe(await client.next_event()))
        await client.send(BytesMessage(b"\x00\x01binary"))
        heard.append(_describe(await client.next_event()))
        await client.send(Ping(b"are you there"))
        heard.append(_describe(await client.next_event()))
        for size in (125, 126, 65535):  # each frame header length
            await client.send(TextMessage("y" * size))
            heard.append(_describe(await client.next_event()))
        await client.send(TextMessage("z" * (MAX_MESSAGE + 1)))  # too big: 1009
        heard.append(_describe(await client.next_event()))
        await client.stream.aclose()

        for last in ("close:4000", "return"):  # the app closes; the app just returns (1011)
            client = await Client.open(port, "/echo")
            await client.send(TextMessage(last))
            heard.append(_describe(await client.next_event()))
            await client.stream.aclose()

        client = await Client.open(port, "/echo")  # the peer closes politely
        await client.send(CloseConnection(code=1000))
        heard.append(_describe(await client.next_event()))
        await client.stream.aclose()

        client = await Client.open(port, "/echo")  # the peer drops the connection
        await client.stream.aclose()
        with trio.fail_after(5):
            await app.until(lambda: app.echoes_ended == 5)
    return heard, app.conversations


def _disconnect(code: int) -> dict[str, Any]:
    return {"type": "websocket.disconnect", "code": code}


async def test_conversations_and_closes_are_unchanged() -> None:
    plain = await _conversation(enabled=False)
    patched = await _conversation(enabled=True)
    assert patched == plain
    heard, seen = patched
    assert heard[0] == ("TextMessage", '{"event":"media","payload":"é€"}', True)
    assert heard[2] == ("TextMessage", "fragmented", True)
    assert heard[3] == ("BytesMessage", b"\x00\x01binary", True)
    assert heard[4] == ("pong", b"are you there")
    assert [h[1] for h in heard[5:8] if isinstance(h, tuple)] == ["y" * 125, "y" * 126, "y" * 65535]
    assert heard[8:] == [("close", 1009), ("close", 4000), ("close", 1011), ("close", 1000)]
    first = seen[0]
    assert first[0] == {
        "type": "websocket.receive",
        "bytes": None,
        "text": '{"event":"media","payload":"é€"}',
    }
    assert first[2]["text"] == "fragmented"
    assert first[3] == {"type": "websocket.receive", "bytes": b"\x00\x01binary", "text": None}
    assert len(first) == 8  # the message too big never reached the app; then the disconnect
    # Hypercorn tells the app 1006 for the peer's close as for a dropped connection (unchanged).
    assert [c[-1] for c in seen] == [
        _disconnect(1006),
        {"type": "websocket.receive", "bytes": None, "text": "close:4000"},
        {"type": "websocket.receive", "bytes": None, "text": "return"},
        _disconnect(1006),
        _disconnect(1006),
    ]


@pytest.mark.parametrize("enabled", [False, True], ids=["hypercorn", "lean"])
async def test_an_app_that_stops_reading_stops_the_socket_being_read(enabled: bool) -> None:
    app = App()
    async with served(app, enabled) as port:
        client = await Client.open(port, "/stall")
        done = trio.Event()

        async def send_many() -> None:
            for index in range(MANY):
                await client.send(TextMessage(f"{index:08d}" + "m" * BIG))
            done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_many)
            with trio.move_on_after(2):
                await done.wait()
            # Hypercorn queues a few messages for the app, then stops reading: the peer's
            # sends block once the socket buffers are full, far short of all 32 MiB.
            assert not done.is_set()
            assert app.seen == []
            app.release.set()
            with trio.fail_after(60):
                await done.wait()
                await app.until(lambda: len(app.seen) == MANY)
        assert app.seen == [f"{index:08d}" for index in range(MANY)]  # every one, in order
        await client.stream.aclose()


@pytest.mark.parametrize("enabled", [False, True], ids=["hypercorn", "lean"])
async def test_a_peer_that_stops_reading_holds_the_sender_not_the_server(enabled: bool) -> None:
    app = App()
    async with served(app, enabled) as port:
        client = await Client.open(port, "/flood")
        with trio.move_on_after(2):
            await app.flood_done.wait()
        assert not app.flood_done.is_set()  # the app's send waits on the full socket
        assert 0 < app.flood_sent < MANY
        await client.stream.aclose()  # the peer goes away without reading
        with trio.fail_after(10):
            await app.flood_done.wait()  # its sends stop waiting (Hypercorn drops them)
        other = await Client.open(port, "/echo")  # and the server serves on
        await other.send(TextMessage("still here"))
        assert _describe(await other.next_event()) == ("TextMessage", "still here", True)
        await other.stream.aclose()


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 1000, 65535, 65536, 70000])
def test_a_text_frame_is_byte_for_byte_wsprotos(size: int) -> None:
    server = Connection(ConnectionType.SERVER)
    text = ("aé€" * size)[:size]
    assert hypercorn_lean.server_text_frame(text.encode()) == server.send(TextMessage(text))


def test_frames_are_built_by_wsproto_when_it_would_frame_them_differently() -> None:
    server = Connection(ConnectionType.SERVER)
    assert hypercorn_lean._frames_text_directly(server)
    server.send(TextMessage("first part", message_finished=False))
    assert not hypercorn_lean._frames_text_directly(server)  # a continuation frame is due
    server.send(TextMessage("rest"))
    assert hypercorn_lean._frames_text_directly(server)
    assert not hypercorn_lean._frames_text_directly(Connection(ConnectionType.CLIENT))  # masked
    server.send(CloseConnection(code=1000))
    assert not hypercorn_lean._frames_text_directly(server)


def test_install_is_idempotent_and_undone_by_uninstall() -> None:
    with lean(False):
        from hypercorn.trio.tcp_server import TCPServer

        plain = TCPServer.protocol_send
        hypercorn_lean.install()
        patched = TCPServer.protocol_send
        hypercorn_lean.install()
        assert TCPServer.protocol_send is patched is not plain
        hypercorn_lean.uninstall()
        assert TCPServer.protocol_send is plain


def _client_frames(rng: random.Random) -> bytes:
    """A client's byte stream: mostly whole text frames, with every other kind among them."""
    client = Connection(ConnectionType.CLIENT)
    out = bytearray()
    for _ in range(rng.randrange(1, 12)):
        kind = rng.random()
        text = "".join(rng.choice('aé€😀{}":, ') for _ in range(rng.choice([0, 3, 125, 300])))
        if kind < 0.6:
            out += client.send(TextMessage(text))
        elif kind < 0.7:
            out += client.send(TextMessage(text[:5], message_finished=False))
            out += client.send(TextMessage(text[5:]))
        elif kind < 0.75:
            out += client.send(BytesMessage(text.encode()))
        elif kind < 0.8:
            out += client.send(Ping(b"p"))
        elif kind < 0.85:  # a 2-byte length where 1 byte would do: a protocol error
            out += b"\x81\xfe\x00\x05" + b"\x00" * 4 + b"hello"
        elif kind < 0.9:  # not UTF-8
            out += b"\x81\x82" + b"\x00" * 4 + b"\xff\xfe"
        elif kind < 0.95:  # unmasked
            out += b"\x81\x02hi"
        else:
            out += client.send(TextMessage("x" * 70000))  # the 8-byte length form
    return bytes(out)


def _messages(events: list[Event]) -> list[object]:
    """Whole messages and the rest, however the bytes were split."""
    out: list[object] = []
    parts: list[Any] = []
    for event in events:
        if isinstance(event, TextMessage | BytesMessage):
            parts.append(event.data)
            if event.message_finished:
                joined = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                out.append((type(event).__name__, joined))
                parts = []
        else:
            out.append(_describe(event))
    return out


class _Stream:
    """What ``_parses_directly`` looks at in a WSStream: its wsproto connection and buffer."""

    def __init__(self) -> None:
        self.connection = Connection(ConnectionType.SERVER)
        self.buffer = type("Buffer", (), {"value": None})()


def _read_both_ways(seed: int) -> int:
    """Random client bytes, split at random, read by wsproto alone and by the direct path with
    wsproto for the rest: the messages must be the same. Returns how many went direct."""
    rng = random.Random(seed)
    data = _client_frames(rng)
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randrange(0, 4))))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]

    plain = Connection(ConnectionType.SERVER)
    plain_events: list[Event] = []
    lean_stream = _Stream()
    lean_events: list[Event] = []
    direct = 0
    for chunk in chunks:
        plain.receive_data(chunk)
        plain_events.extend(plain.events())
        if hypercorn_lean._parses_directly(lean_stream):
            texts, used = hypercorn_lean.client_text_frames(chunk, 100_000)
            lean_events.extend(TextMessage(text) for text in texts)
            direct += len(texts)
            chunk = chunk[used:]
        if chunk:
            lean_stream.connection.receive_data(chunk)
            lean_events.extend(lean_stream.connection.events())
        if plain.state is not ConnectionState.OPEN:
            break  # wsproto refused something: the connection is closing
    assert _messages(lean_events) == _messages(plain_events), seed
    return direct


def test_whole_text_frames_are_read_as_wsproto_reads_them() -> None:
    direct = sum(_read_both_ways(seed) for seed in range(400))
    assert direct > 400  # most whole text frames took the direct path


def test_frames_it_does_not_take_are_left_whole_to_wsproto() -> None:
    masked = b"\x81\x82" + b"\x00" * 4
    assert hypercorn_lean.client_text_frames(masked + b"hi", 10) == (["hi"], 8)
    assert hypercorn_lean.client_text_frames(masked + b"h", 10) == ([], 0)  # incomplete
    assert hypercorn_lean.client_text_frames(masked + b"hi" + b"\x89\x80", 10) == (["hi"], 8)
    assert hypercorn_lean.client_text_frames(masked + b"\xff\xfe", 10) == ([], 0)  # not UTF-8
    assert hypercorn_lean.client_text_frames(b"\x81\x02hi", 10) == ([], 0)  # unmasked
    assert hypercorn_lean.client_text_frames(b"\x01\x82" + b"\x00" * 4 + b"hi", 10) == ([], 0)
    too_long = Connection(ConnectionType.CLIENT).send(TextMessage("x" * 11))
    assert hypercorn_lean.client_text_frames(too_long, 10) == ([], 0)  # Hypercorn's 1009
