"""A scripted fake of the OpenAI Realtime API (GA) for ``bench/calls.py``; one process.

Protocol with the parent: prints ``PORT <n>`` once listening; then reads one line
``DUMP <path> <w0> <w1> <cutoff>`` (CLOCK_MONOTONIC seconds) on stdin, writes its figures as JSON
to ``path`` and exits. EOF on stdin also exits (without writing).

Per connection: ``session.created``; ``session.updated`` for each ``session.update``; the first
caller frame tells which call the connection carries (its tag names the call). From the first
``response.create`` on, it speaks a 1-s response (50 deltas of 160 B on an absolute 20 ms
schedule) every 2 s until the bridge closes the socket. Every delta is tagged (call, index, send
time) so the load generator can time it and spot audio that reached the wrong call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from array import array
from collections import Counter
from functools import partial
from typing import Any

import trio

from bench._calls.wire import (
    CALLER_MAGIC,
    FRAME_S,
    MODEL_MAGIC,
    TrioClock,
    WebSocket,
    WsClosed,
    filler_b64,
    mono_ns,
    read_tag,
    server_handshake,
    tagged_payload,
)

RESPONSE_EVERY_S = 2.0
RESPONSE_FRAMES = 50  # 1 s of audio
APPEND_PREFIX = b'{"type":"input_audio_buffer.append","audio":"'
AUDIO_KEY = b'"audio":"'
FILLER = filler_b64(MODEL_MAGIC)
EXPECTED_AUTH = "Bearer sk-bench"


class Recorder:
    """Everything the process saw, raw, filtered by the measurement window at dump time."""

    def __init__(self) -> None:
        # Caller frames received: call tag, frame index, send time and receive time (ns).
        self.in_call = array("q")
        self.in_index = array("q")
        self.in_sent = array("q")
        self.in_recv = array("q")
        # Deltas sent: call, send time, scheduled time (ns).
        self.out_call = array("q")
        self.out_sent = array("q")
        self.out_sched = array("q")
        self.counts: Counter[str] = Counter()

    def dump(self, w0: float, w1: float, cutoff: float) -> dict[str, Any]:
        lo, hi, cut = int(w0 * 1e9), int(w1 * 1e9), int(cutoff * 1e9)
        in_lat_us: list[int] = []
        in_seen: dict[int, set[int]] = {}
        duplicates = 0
        for call, index, sent, recv in zip(
            self.in_call, self.in_index, self.in_sent, self.in_recv, strict=True
        ):
            if lo <= sent <= hi:
                in_lat_us.append((recv - sent) // 1000)
            if lo <= sent <= cut:
                seen = in_seen.setdefault(call, set())
                if index in seen:
                    duplicates += 1
                seen.add(index)
        out_sent: Counter[int] = Counter()
        lag_us: list[int] = []
        for call, sent, sched in zip(self.out_call, self.out_sent, self.out_sched, strict=True):
            if lo <= sent <= cut:
                out_sent[call] += 1
            if lo <= sched <= hi:
                lag_us.append((sent - sched) // 1000)
        return {
            "in_lat_us": in_lat_us,
            "in_seen": {str(call): len(seen) for call, seen in in_seen.items()},
            "in_duplicates": duplicates,
            "out_sent": {str(call): n for call, n in out_sent.items()},
            "model_lag_us": lag_us,
            "counts": dict(self.counts),
        }


class ModelConnection:
    def __init__(self, ws: WebSocket, rec: Recorder, clock: TrioClock, number: int) -> None:
        self.ws = ws
        self.rec = rec
        self.clock = clock
        self.number = number
        self.call: int | None = None  # bound by the first caller frame
        self.greeting_requested = False
        self.speaking = False
        self.nursery: trio.Nursery | None = None

    async def run(self) -> None:
        ws = self.ws
        rec = self.rec
        counts = rec.counts
        in_call, in_index = rec.in_call.append, rec.in_index.append
        in_sent, in_recv = rec.in_sent.append, rec.in_recv.append
        await ws.send(
            ws.frame(
                json.dumps(
                    {
                        "type": "session.created",
                        "event_id": f"evt_sc{self.number}",
                        "session": {"type": "realtime", "model": "gpt-realtime"},
                    }
                )
            )
        )
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            try:
                while True:
                    messages = await ws.receive()
                    now = mono_ns()
                    for message in messages:
                        if message.startswith(APPEND_PREFIX):
                            at = len(APPEND_PREFIX)
                        else:
                            at = message.find(AUDIO_KEY) + len(AUDIO_KEY)
                            if at < len(AUDIO_KEY) or b"input_audio_buffer.append" not in message:
                                await self._other(message)
                                continue
                        try:
                            magic, call, index, sent = read_tag(message[at : at + 24])
                        except ValueError:
                            counts["in_corrupt"] += 1
                            continue
                        if magic != CALLER_MAGIC:
                            counts["in_corrupt"] += 1
                            continue
                        in_call(call)
                        in_index(index)
                        in_sent(sent)
                        in_recv(now)
                        if self.call is None:
                            self.call = call
                            counts["connections_bound"] += 1
                            self._maybe_speak()
                        elif call != self.call:
                            counts["in_crosstalk"] += 1
            except (WsClosed, trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            nursery.cancel_scope.cancel()
        # Flush a pending close reply, without waiting for a peer that stopped reading.
        with trio.move_on_after(1):
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await ws.send(b"")

    async def _other(self, message: bytes) -> None:
        counts = self.rec.counts
        try:
            event = json.loads(message)
        except ValueError:
            counts["in_bad_json"] += 1
            return
        kind = event.get("type") if isinstance(event, dict) else None
        counts[f"received {kind}"] += 1
        if kind == "session.update":
            reply = {
                "type": "session.updated",
                "event_id": f"evt_su{self.number}_{counts['received session.update']}",
                "session": event.get("session") or {"type": "realtime"},
            }
            await self._send_now(json.dumps(reply))
        elif kind == "response.create":
            self.greeting_requested = True
            self._maybe_speak()

    async def _send_now(self, text: str) -> None:
        if self.speaking:  # the responder owns the socket: it flushes this with its next frame
            self.ws.pending_control.append(self.ws.frame(text))
        else:
            await self.ws.send(self.ws.frame(text))

    def _maybe_speak(self) -> None:
        if self.call is not None and self.greeting_requested and not self.speaking:
            assert self.nursery is not None
            self.speaking = True
            self.nursery.start_soon(self._respond, self.call)

    async def _respond(self, call: int) -> None:
        """A 1-s response every 2 s, each delta on an absolute 20 ms schedule."""
        ws = self.ws
        rec = self.rec
        at = self.clock.at
        out_call, out_sent, out_sched = (
            rec.out_call.append,
            rec.out_sent.append,
            rec.out_sched.append,
        )
        first_ns = mono_ns() + 5_000_000
        index = 0
        response = 0
        try:
            while True:
                response_id = f"resp_{call}_{response}"
                item_id = f"item_{call}_{response}"
                head = (
                    '{"type":"response.output_audio.delta","event_id":"e'
                    + f'{call}_%d","response_id":"{response_id}","item_id":"{item_id}",'
                    + '"output_index":0,"content_index":0,"delta":"%s"}'
                )
                start_ns = first_ns + int(response * RESPONSE_EVERY_S * 1e9)
                for j in range(RESPONSE_FRAMES):
                    sched_ns = start_ns + int(j * FRAME_S * 1e9)
                    await trio.sleep_until(at(sched_ns / 1e9))
                    now = mono_ns()
                    text = head % (index, tagged_payload(MODEL_MAGIC, call, index, now, FILLER))
                    data = ws.frame(text)
                    if j == 0:
                        data = ws.frame(_response_event("response.created", response_id)) + data
                    elif j == RESPONSE_FRAMES - 1:
                        data += ws.frame(
                            f'{{"type":"response.output_audio.done","event_id":"ead_{item_id}",'
                            f'"response_id":"{response_id}","item_id":"{item_id}",'
                            '"output_index":0,"content_index":0}'
                        ) + ws.frame(_response_event("response.done", response_id))
                    await ws.send(data)
                    out_call(call)
                    out_sent(now)
                    out_sched(sched_ns)
                    index += 1
                response += 1
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            rec.counts["send_failed"] += 1


def _response_event(kind: str, response_id: str) -> str:
    status = "completed" if kind == "response.done" else "in_progress"
    return json.dumps(
        {
            "type": kind,
            "event_id": f"ev_{kind}_{response_id}",
            "response": {
                "id": response_id,
                "object": "realtime.response",
                "status": status,
                "output": [],
            },
        },
        separators=(",", ":"),
    )


async def amain(host: str, port: int) -> None:
    rec = Recorder()
    clock = TrioClock()
    numbers = iter(range(1, 1 << 30))

    async def handler(stream: trio.SocketStream) -> None:
        number = next(numbers)
        rec.counts["connections"] += 1
        try:
            ws, target, headers = await server_handshake(stream)
        except (WsClosed, trio.BrokenResourceError):
            rec.counts["handshake_failed"] += 1
            await stream.aclose()
            return
        if headers.get("authorization") != EXPECTED_AUTH:
            rec.counts["bad_authorization"] += 1
        if "model=gpt-realtime" not in target:
            rec.counts["no_model_in_url"] += 1
        try:
            await ModelConnection(ws, rec, clock, number).run()
        finally:
            await trio.aclose_forcefully(stream)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, port, host=host))
        bound = listeners[0].socket.getsockname()[1]
        print(f"PORT {bound}", flush=True)
        stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
        line = b""
        while b"\n" not in line:
            data = await stdin.receive_some(4096)
            if not data:
                break
            line += data
        parts = line.decode().split()
        if len(parts) == 5 and parts[0] == "DUMP":
            path, w0, w1, cutoff = parts[1], float(parts[2]), float(parts[3]), float(parts[4])
            result = rec.dump(w0, w1, cutoff)
            await trio.Path(path).write_text(json.dumps(result))
        nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    trio.run(amain, args.host, args.port)


if __name__ == "__main__":
    main()
