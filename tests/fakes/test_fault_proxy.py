"""The fault proxy does what its modes say, against a loopback echo server."""

from __future__ import annotations

from functools import partial

import pytest
import trio
import trio.testing

from tests.fakes.fault_proxy import FaultProxy, Mode, start_fault_proxy


async def _echo(stream: trio.SocketStream) -> None:
    try:
        async for data in stream:
            await stream.send_all(data)
    except trio.BrokenResourceError:
        pass


async def start(nursery: trio.Nursery) -> FaultProxy:
    listeners = await nursery.start(partial(trio.serve_tcp, _echo, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    return await start_fault_proxy(nursery, "127.0.0.1", port)


async def connect(proxy: FaultProxy) -> trio.SocketStream:
    return await trio.open_tcp_stream("127.0.0.1", proxy.port)


async def test_pass_forwards_both_ways_and_counts(nursery: trio.Nursery) -> None:
    proxy = await start(nursery)
    async with await connect(proxy) as client:
        await client.send_all(b"hello")
        assert await client.receive_some(100) == b"hello"
        (connection,) = proxy.connections
        assert (connection.bytes_up, connection.bytes_down) == (5, 5)


async def test_reset_all_resets_open_connections_and_new_ones_pass(nursery: trio.Nursery) -> None:
    proxy = await start(nursery)
    async with await connect(proxy) as client:
        await client.send_all(b"x")
        assert await client.receive_some(10) == b"x"
        proxy.reset_all()
        with pytest.raises(trio.BrokenResourceError):  # RST, not a clean EOF
            await client.receive_some(10)
    async with await connect(proxy) as again:
        await again.send_all(b"z")
        assert await again.receive_some(10) == b"z"


async def test_reset_mode_resets_every_new_connection(nursery: trio.Nursery) -> None:
    proxy = await start(nursery)
    proxy.set_mode(Mode.RESET)
    async with await connect(proxy) as client:
        with pytest.raises(trio.BrokenResourceError):
            assert await client.receive_some(10) == b""


async def test_stall_reads_and_forwards_nothing(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    proxy = await start(nursery)
    async with await connect(proxy) as client:
        proxy.set_mode(Mode.STALL)
        await client.send_all(b"lost")
        with trio.move_on_after(30) as waited:
            await client.receive_some(10)
        assert waited.cancelled_caught
        assert proxy.stalled_bytes == 4
        proxy.set_mode(Mode.PASS)
        await client.send_all(b"back")
        assert await client.receive_some(10) == b"back"


async def test_blackhole_accepts_and_never_answers(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    proxy = await start(nursery)
    proxy.set_mode(Mode.BLACKHOLE)
    async with await connect(proxy) as client:
        await client.send_all(b"anyone?")
        with trio.move_on_after(30) as waited:
            await client.receive_some(10)
        assert waited.cancelled_caught
        assert proxy.connections[0].upstream is None and proxy.stalled_bytes == 0


async def test_drop_after_forwards_that_many_bytes_then_resets(nursery: trio.Nursery) -> None:
    proxy = await start(nursery)
    proxy.set_mode(Mode.DROP_AFTER, after_bytes=6)
    async with await connect(proxy) as client:
        await client.send_all(b"abc")
        assert await client.receive_some(10) == b"abc"  # 6 bytes carried: the limit
        await client.send_all(b"d")
        with pytest.raises(trio.BrokenResourceError):
            assert await client.receive_some(10) == b""
        assert proxy.connections[0].reset
