"""Microbenchmark of the model link: the client's CPU per 1,000 messages each way over loopback,
the trio-websocket link it replaced ("old") against ``realtime/connection.py`` ("new").

Run from the repository root: ``.venv/bin/python -m bench.model_link [--runs 3] [--count 2000]``.

A wsproto server runs in a child process (so its CPU is not counted) and plays the model:
it counts the client's ``input_audio_buffer.append`` messages (20 ms of μ-law each, about 300
bytes) and sends audio deltas (100 ms of μ-law, about 1.3 KB) on request, either in a burst or
paced one per millisecond (closer to a live call, where each delta arrives on its own and costs
a wake-up). The client's CPU is ``time.process_time`` around each phase; old and new alternate
within one run, so compare the ratios (the machine is shared and its timings are noisy).
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import socket
import statistics
import time
from typing import Any

import trio
import trio_websocket
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage

from hotelvoice.realtime.connection import open_realtime
from hotelvoice.wire.realtime import MAX_EVENT_SIZE, encode_audio_append

APPEND = encode_audio_append(base64.b64encode(os.urandom(160)).decode("ascii"))
DELTA = json.dumps(
    {
        "type": "response.output_audio.delta",
        "event_id": "event_CP9a8Z1Bf0JvE2kxQ3LmN",
        "response_id": "resp_CP9a8YyJ3kPq7Rr2Tn8Xw",
        "item_id": "item_CP9a8Zt4m9QxLk1Wv6Hs2",
        "output_index": 0,
        "content_index": 0,
        "delta": base64.b64encode(os.urandom(800)).decode("ascii"),
    }
)


# -- the server (child process, blocking sockets) ---------------------------------------------


def _serve_connection(conn: socket.socket) -> None:
    ws = WSConnection(ConnectionType.SERVER)
    parts: list[str] = []
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, Request):
                    conn.sendall(ws.send(AcceptConnection()))
                elif isinstance(event, Ping):
                    conn.sendall(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    conn.sendall(ws.send(event.response()))
                    return
                elif isinstance(event, TextMessage):
                    parts.append(event.data)
                    if event.message_finished:
                        _handle(conn, ws, "".join(parts))
                        parts = []


def _handle(conn: socket.socket, ws: WSConnection, text: str) -> None:
    if not text.startswith('{"type":"bench.'):
        return  # an append: counted by its arrival only
    request = json.loads(text)
    if request["type"] == "bench.ack":
        conn.sendall(ws.send(TextMessage(data='{"type":"bench.ack"}')))
    elif request["type"] == "bench.send":
        frame = ws.send(TextMessage(data=DELTA))
        for _ in range(request["count"]):
            conn.sendall(frame)
            if request["paced"]:
                time.sleep(0.001)
        conn.sendall(ws.send(TextMessage(data='{"type":"bench.done"}')))


def _server(port_out: Any) -> None:
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port_out.put(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_connection, args=(conn,), daemon=True).start()


# -- the two clients --------------------------------------------------------------------------


async def _phases(link: Any, count: int, paced_count: int) -> dict[str, float]:
    """CPU ms per 1,000 messages: sent, received in a burst, received paced."""
    figures = {}
    start = time.process_time()
    for _ in range(count):
        await link.send(APPEND)
    await link.send('{"type":"bench.ack"}')
    while await link.receive() != '{"type":"bench.ack"}':
        pass
    figures["send"] = (time.process_time() - start) * 1e6 / count
    for name, n, paced in (("receive burst", count, False), ("receive paced", paced_count, True)):
        request = {"type": "bench.send", "count": n, "paced": paced}
        await link.send(json.dumps(request, separators=(",", ":")))
        start = time.process_time()
        got = 0
        while await link.receive() != '{"type":"bench.done"}':
            got += 1
        assert got == n
        figures[name] = (time.process_time() - start) * 1e6 / n
    return figures


class _Old:
    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws

    async def send(self, text: str) -> None:
        await self.ws.send_message(text)

    async def receive(self) -> str:
        message = await self.ws.get_message()
        return message if isinstance(message, str) else message.decode()


async def _run_old(url: str, count: int, paced: int) -> dict[str, float]:
    async with trio_websocket.open_websocket_url(
        url, message_queue_size=64, max_message_size=MAX_EVENT_SIZE
    ) as ws:
        return await _phases(_Old(ws), count, paced)


async def _run_new(url: str, count: int, paced: int) -> dict[str, float]:
    async with open_realtime(url, model="m", api_key="k", connect_timeout=5) as connection:
        return await _phases(connection, count, paced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=2000, help="messages per burst phase")
    parser.add_argument("--paced", type=int, default=500, help="messages in the paced phase")
    args = parser.parse_args()

    ports: Any = multiprocessing.get_context("fork").Queue()
    server = multiprocessing.get_context("fork").Process(target=_server, args=(ports,), daemon=True)
    server.start()
    url = f"ws://127.0.0.1:{ports.get(timeout=10)}/v1/realtime"
    results: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    try:
        for run in range(args.runs):
            order = [("old", _run_old), ("new", _run_new)]
            if run % 2:
                order.reverse()
            for name, client in order:
                figures = trio.run(client, url, args.count, args.paced)
                for phase, value in figures.items():
                    results[name].setdefault(phase, []).append(value)
            print(f"run {run + 1}: " + "; ".join(
                f"{phase} old {results['old'][phase][-1]:.0f} new {results['new'][phase][-1]:.0f}"
                for phase in results["old"]
            ))  # fmt: skip
    finally:
        server.kill()
    print("\nclient CPU, ms per 1,000 messages (median of runs; min-max)")
    print(f"{'phase':<15} {'old (trio-websocket)':>22} {'new (wsproto direct)':>22} {'new/old':>8}")
    for phase in results["old"]:
        old, new = results["old"][phase], results["new"][phase]
        print(
            f"{phase:<15} {statistics.median(old):>8.0f} ({min(old):.0f}-{max(old):.0f}){'':>5}"
            f" {statistics.median(new):>8.0f} ({min(new):.0f}-{max(new):.0f}){'':>5}"
            f" {statistics.median(new) / statistics.median(old):>8.2f}"
        )


if __name__ == "__main__":
    main()
