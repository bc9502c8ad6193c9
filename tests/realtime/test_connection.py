"""hotelvoice.realtime.connection against the fake Realtime server and raw sockets on loopback."""

from __future__ import annotations

import base64
import gc
import json
import logging
import shutil
import socket
import ssl
import subprocess
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from hotelvoice.realtime.connection import (
    RealtimeClosed,
    RealtimeConnectError,
    RealtimeConnection,
    open_realtime,
)
from hotelvoice.wire import realtime as rt
from tests.fakes.fault_proxy import Mode, start_fault_proxy
from tests.fakes.realtime_server import FakeRealtimeServer, start_fake_realtime

API_KEY = "sk-test"
BAD_KEY = "sk-wrong-0123456789abcdefSECRET"


def assert_secret_free(exc: BaseException, secret: str) -> None:
    """The secret is in no message or repr along the exception's cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        assert secret not in str(current)
        assert secret not in repr(current)
        for arg in current.args:
            assert secret not in repr(arg)
        current = current.__cause__ or current.__context__


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakeRealtimeServer:
    return await start_fake_realtime(nursery, api_key=API_KEY)


async def receive_event(connection: RealtimeConnection) -> rt.ServerEvent:
    return rt.parse_server_event(await connection.receive())


async def test_round_trip(server: FakeRealtimeServer) -> None:
    async with open_realtime(
        server.url, model="gpt-realtime", api_key=API_KEY, connect_timeout=5
    ) as connection:
        created = await receive_event(connection)
        assert isinstance(created, rt.SessionCreated)
        assert created.session["model"] == "gpt-realtime"

        config = rt.SessionConfig(model="gpt-realtime", voice="marin", instructions="Hi.")
        await connection.send(rt.dumps(rt.session_update(config)))
        updated = await receive_event(connection)
        assert isinstance(updated, rt.SessionUpdated)
        assert updated.session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
        assert updated.session["audio"]["output"]["voice"] == "marin"

        await connection.send(rt.encode_audio_append("AAECAw=="))
        session = await server.next_session()
        await session.expect("input_audio_buffer.append")
        assert session.audio_in == b"\x00\x01\x02\x03"
        assert connection.closed is None

    assert session.query["model"] == "gpt-realtime"
    assert session.headers["authorization"] == f"Bearer {API_KEY}"
    assert "openai-beta" not in session.headers
    await session.closed.wait()
    assert session.close_code == 1000  # we said goodbye with a close frame
    server.assert_clean()


async def test_model_is_merged_into_an_existing_query(server: FakeRealtimeServer) -> None:
    url = f"{server.url}?region=eu&model=old-model&flag="
    async with open_realtime(url, model="gpt-realtime-mini", api_key=API_KEY, connect_timeout=5):
        session = await server.next_session()
    assert session.query == {"region": "eu", "model": "gpt-realtime-mini"}
    assert "flag=" in session.path  # blank values survive the merge
    assert session.model == "gpt-realtime-mini"


async def test_bad_key_is_refused_with_401_and_never_repeated(
    server: FakeRealtimeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RealtimeConnectError) as caught:
        async with open_realtime(
            server.url, model="gpt-realtime", api_key=BAD_KEY, connect_timeout=5
        ):
            pytest.fail("connected with a bad key")
    assert caught.value.status_code == 401
    assert "401" in str(caught.value)
    assert "invalid_api_key" in str(caught.value)  # the server's reason survives redaction
    assert_secret_free(caught.value, BAD_KEY)
    assert BAD_KEY not in caplog.text
    assert server.rejected == [401]
    assert server.sessions == []


async def test_key_is_not_logged_on_success(
    server: FakeRealtimeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz"
    server.api_key = secret
    async with open_realtime(server.url, model="m", api_key=secret, connect_timeout=5) as conn:
        await conn.receive()
    assert caplog.records  # something was logged, and none of it has the key
    assert secret not in caplog.text


async def test_refusal_with_other_status(server: FakeRealtimeServer) -> None:
    server.reject_status = 503
    with pytest.raises(RealtimeConnectError) as caught:
        async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=5):
            pass
    assert caught.value.status_code == 503


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_refused_port() -> None:
    url = f"ws://127.0.0.1:{free_port()}/v1/realtime"
    with pytest.raises(RealtimeConnectError) as caught:
        async with open_realtime(url, model="m", api_key=API_KEY, connect_timeout=5):
            pass
    assert caught.value.status_code is None
    assert_secret_free(caught.value, API_KEY)


async def test_stalled_handshake_fails_exactly_at_the_deadline(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    server = await start_fake_realtime(nursery, api_key=API_KEY, stall_handshake=True)
    start = trio.current_time()
    with pytest.raises(RealtimeConnectError) as caught:
        async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=10):
            pytest.fail("connected to a server that never answers")
    assert trio.current_time() - start == pytest.approx(10)
    assert "deadline" in str(caught.value)
    assert_secret_free(caught.value, API_KEY)
    gc.collect()  # a leaked socket would warn now, and warnings are errors


async def test_silent_tcp_listener_fails_at_the_deadline(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    # Not even HTTP: a bare listener that accepts and never reads or writes.
    async def silent(stream: trio.SocketStream) -> None:
        async with stream:
            await trio.sleep_forever()

    listeners = await nursery.start(partial(trio.serve_tcp, silent, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    start = trio.current_time()
    with pytest.raises(RealtimeConnectError):
        async with open_realtime(
            f"ws://127.0.0.1:{port}/v1/realtime", model="m", api_key=API_KEY, connect_timeout=3
        ):
            pass
    assert trio.current_time() - start == pytest.approx(3)
    gc.collect()


async def test_peer_closing_during_upgrade_fails_at_once(
    autojump_clock: trio.testing.MockClock, nursery: trio.Nursery
) -> None:
    async def hang_up(stream: trio.SocketStream) -> None:
        await stream.aclose()

    listeners = await nursery.start(partial(trio.serve_tcp, hang_up, 0, host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    start = trio.current_time()
    with pytest.raises(RealtimeConnectError, match="closed during the WebSocket upgrade"):
        async with open_realtime(
            f"ws://127.0.0.1:{port}/v1/realtime", model="m", api_key=API_KEY, connect_timeout=30
        ):
            pass
    assert trio.current_time() - start < 1  # did not wait out the deadline
    gc.collect()


async def test_server_close_raises_realtime_closed_with_the_code(
    server: FakeRealtimeServer,
) -> None:
    async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=5) as conn:
        await conn.receive()  # session.created
        session = await server.next_session()
        await session.close(4001, "told to go")
        with pytest.raises(RealtimeClosed) as caught:
            await conn.receive()
        assert (caught.value.code, caught.value.reason) == (4001, "told to go")
        with pytest.raises(RealtimeClosed) as again:
            await conn.send(rt.dumps(rt.response_create()))
        assert again.value.code == 4001
        closed = conn.closed
        assert closed is not None
        assert closed.code == 4001
    # leaving the block after the server closed is quiet


async def test_messages_sent_before_close_are_still_delivered(server: FakeRealtimeServer) -> None:
    async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=5) as conn:
        session = await server.next_session()
        await session.error("invalid_value", "last words")
        await session.close(1011)
        first = await receive_event(conn)
        assert isinstance(first, rt.SessionCreated)
        last = await receive_event(conn)
        assert isinstance(last, rt.RealtimeError)
        assert last.message == "last words"
        with pytest.raises(RealtimeClosed) as caught:
            await conn.receive()
        assert caught.value.code == 1011


async def test_abrupt_server_death_is_realtime_closed(server: FakeRealtimeServer) -> None:
    async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=5) as conn:
        await conn.receive()
        server.stop()
        with pytest.raises(RealtimeClosed) as caught:
            await conn.receive()
        assert caught.value.code == 1006


async def test_body_exceptions_come_out_unwrapped(server: FakeRealtimeServer) -> None:
    with pytest.raises(KeyError, match="mine"):
        async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=5):
            raise KeyError("mine")


async def test_realtime_closed_from_the_body_comes_out_unwrapped(
    server: FakeRealtimeServer,
) -> None:
    async def converse() -> None:
        async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=5) as c:
            await c.receive()
            await server.sessions[-1].close(1000)
            await c.receive()

    with pytest.raises(RealtimeClosed):
        await converse()


async def test_outside_cancellation_still_closes_politely(
    autojump_clock: trio.testing.MockClock, server: FakeRealtimeServer
) -> None:
    with trio.move_on_after(0.5) as scope:
        async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=5) as c:
            await c.receive()
            await c.receive()  # nothing more comes: cancelled here
    assert scope.cancelled_caught
    session = server.sessions[-1]
    await session.closed.wait()
    assert session.close_code == 1000


async def test_large_messages_pass(server: FakeRealtimeServer) -> None:
    # 2 MiB: over trio-websocket's 1 MiB default, under our 16 MiB.
    big = json.dumps({"type": "x.big", "blob": "A" * (2 * 1024 * 1024)})
    async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=5) as conn:
        await conn.receive()
        session = await server.next_session()
        await session.send_raw(big)
        assert await conn.receive() == big


async def test_many_messages_in_a_burst_keep_order(server: FakeRealtimeServer) -> None:
    async with open_realtime(server.url, model="m", api_key=API_KEY, connect_timeout=5) as conn:
        await conn.receive()
        session = await server.next_session()
        audio = bytes(range(256)) * 20
        async with trio.open_nursery() as nursery:
            nursery.start_soon(session.speak, audio)
            received = bytearray()
            while True:
                event = await receive_event(conn)
                if isinstance(event, rt.AudioDelta):
                    received += base64.b64decode(event.delta)
                if isinstance(event, rt.ResponseDone):
                    break
        assert received == audio


@pytest.mark.parametrize("key", ["sk-caf\u00e9-secret", "sk-secret\r\nX-Evil: 1"])
async def test_unusable_key_is_refused_without_repeating_it(key: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII") as caught:
        async with open_realtime(
            "ws://127.0.0.1:9/v1/realtime", model="m", api_key=key, connect_timeout=1
        ):
            pass
    assert_secret_free(caught.value, key)


async def test_non_websocket_url_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="ws:// or wss://"):
        async with open_realtime(
            "https://api.openai.com/v1/realtime", model="m", api_key="k", connect_timeout=1
        ):
            pass


# -- TLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
async def tls_server(nursery: trio.Nursery, certificate: tuple[Path, Path]) -> FakeRealtimeServer:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return await start_fake_realtime(nursery, api_key=API_KEY, ssl_context=context)


async def test_wss_round_trip(
    tls_server: FakeRealtimeServer, certificate: tuple[Path, Path]
) -> None:
    assert tls_server.url.startswith("wss://")
    client = ssl.create_default_context(cafile=str(certificate[0]))
    async with open_realtime(
        tls_server.url, model="m", api_key=API_KEY, connect_timeout=5, ssl_context=client
    ) as conn:
        assert isinstance(await receive_event(conn), rt.SessionCreated)
        await conn.send(rt.dumps(rt.response_create()))
        session = await tls_server.next_session()
        await session.expect("response.create")
    tls_server.assert_clean()


async def test_wss_with_an_untrusted_certificate_fails(tls_server: FakeRealtimeServer) -> None:
    # The default context verifies against the system CAs, which do not know our certificate.
    with pytest.raises(RealtimeConnectError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        async with open_realtime(tls_server.url, model="m", api_key=API_KEY, connect_timeout=5):
            pass
    assert_secret_free(caught.value, API_KEY)
    gc.collect()


async def test_wss_to_a_plain_server_fails(server: FakeRealtimeServer) -> None:
    url = server.url.replace("ws://", "wss://")
    with pytest.raises(RealtimeConnectError, match="cannot connect"):
        async with open_realtime(url, model="m", api_key=API_KEY, connect_timeout=5):
            pass
    gc.collect()


async def test_a_peer_that_stops_answering_is_found_by_keepalive(
    server: FakeRealtimeServer, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    proxy = await start_fault_proxy(nursery, "127.0.0.1", server.port)
    url = f"ws://127.0.0.1:{proxy.port}/v1/realtime"
    async with open_realtime(
        url, model="gpt-realtime", api_key=API_KEY, connect_timeout=5, keepalive_interval=2.0
    ) as connection:
        assert isinstance(await receive_event(connection), rt.SessionCreated)
        await trio.sleep(10.0)  # pings answered: still open
        assert connection.closed is None
        proxy.set_mode(Mode.STALL)  # no close, no reset: silence
        stalled_at = trio.current_time()
        with pytest.raises(RealtimeClosed) as closed:
            await connection.receive()
        assert closed.value.code == 1006
        assert 5.0 <= trio.current_time() - stalled_at <= 2.0 + 5.0 + 0.01


async def test_wss_carries_large_messages_both_ways(
    tls_server: FakeRealtimeServer, certificate: tuple[Path, Path]
) -> None:
    # Many TLS records per message, decrypted in memory as they arrive.
    client = ssl.create_default_context(cafile=str(certificate[0]))
    big = json.dumps({"type": "x.big", "blob": "B" * (1024 * 1024)})
    async with open_realtime(
        tls_server.url, model="m", api_key=API_KEY, connect_timeout=5, ssl_context=client
    ) as conn:
        assert isinstance(await receive_event(conn), rt.SessionCreated)
        session = await tls_server.next_session()
        await session.send_raw(big)
        assert await conn.receive() == big
        text = rt.dumps(rt.user_text_item("C" * (512 * 1024)))
        await conn.send(text)
        item = await session.expect("conversation.item.create")
        assert item["item"]["content"][0]["text"] == "C" * (512 * 1024)
