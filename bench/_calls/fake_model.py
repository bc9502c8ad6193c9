"""A scripted fake of the OpenAI Realtime API (GA) for ``bench/calls.py``; one process.

Protocol with the parent: prints ``PORT <n>`` once listening; then reads one line
``DUMP <path> <w0> <w1> <cutoff> [<ramp_end>]`` (CLOCK_MONOTONIC seconds) on stdin, writes its
figures as JSON to ``path`` and exits. EOF on stdin also exits (without writing).

Readiness: a connection's model session is ready when this fake sends ``session.updated`` for
its first ``session.update`` (what a bridge may wait for before it streams audio). For every
caller frame sent before ``ramp_end`` the dump gives its lateness beyond that call's readiness,
``receive - max(send, ready)``: a frame the bridge had to hold while the session opened counts
from the moment it could have gone, one sent later counts as its plain latency.

Per connection: ``session.created``; ``session.updated`` for each ``session.update``; the first
caller frame tells which call the connection carries (its tag names the call). From the first
``response.create`` on, it speaks a response of ``--speak-seconds`` (default 1 s: 50 deltas of
160 B on an absolute 20 ms schedule) every ``--speak-every`` seconds (default 2; 0: never) until
the bridge closes the socket (``--speak-unprompted``: from the first caller frame, as a model
with server VAD answers a caller who keeps talking; for bridges that never send
``response.create``, like Twilio's sample with its greeting commented out). Every delta is
tagged (call, index, send time) so the load generator can time it and spot audio that reached
the wrong call.
"""

from __future__ import annotations

import argparse
import json
from array import array
from collections import Counter
from functools import partial
from typing import Any

import trio

from bench._calls.wire import (
    CALLER_MAGIC,
    FRAME_B64_CHARS,
    MODEL_MAGIC,
    Pump,
    TrioClock,
    WsClosed,
    WsCodec,
    filler_b64,
    mono_ns,
    read_command_line,
    read_tag,
    read_tags,
    server_handshake,
    tagged_payload,
)

FRAME_NS = 20_000_000
APPEND_PREFIX = b'{"type":"input_audio_buffer.append","audio":"'
AUDIO_KEY = b'"audio":'
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
        # Call tag -> when its model session became ready (session.updated sent, ns).
        self.ready: dict[int, int] = {}
        self.counts: Counter[str] = Counter()

    def ramp_figures(self, ramp_end_ns: int) -> dict[str, Any]:
        """Inbound lateness beyond each call's readiness, for frames sent before ``ramp_end``."""
        late_us: list[int] = []
        raw_max_us = 0
        held: Counter[int] = Counter()  # frames sent before their session was ready, per call
        unready: set[int] = set()
        ready = self.ready
        for call, sent, recv in zip(self.in_call, self.in_sent, self.in_recv, strict=True):
            if sent >= ramp_end_ns:
                continue
            raw_max_us = max(raw_max_us, (recv - sent) // 1000)
            at = ready.get(call)
            if at is None:
                unready.add(call)
                at = sent
            elif sent < at:
                held[call] += 1
            late_us.append((recv - max(sent, at)) // 1000)
        late_us.sort()
        return {
            "ramp_frames": len(late_us),
            "ramp_late_max_us": late_us[-1] if late_us else 0,
            "ramp_late_p99_us": late_us[max(0, -(-len(late_us) * 99 // 100) - 1)] if late_us else 0,
            "ramp_raw_max_us": raw_max_us,
            "ramp_held_max": max(held.values(), default=0),
            "ramp_held_calls": len(held),
            "ramp_calls_never_ready": len(unready),
        }

    def dump(self, w0: float, w1: float, cutoff: float) -> dict[str, Any]:
        lo, hi, cut = int(w0 * 1e9), int(w1 * 1e9), int(cutoff * 1e9)
        in_lat_us: list[int] = []
        in_at_ms: list[int] = []  # send time of each, ms after w0
        in_seen: dict[int, set[int]] = {}
        duplicates = 0
        for call, index, sent, recv in zip(
            self.in_call, self.in_index, self.in_sent, self.in_recv, strict=True
        ):
            if lo <= sent <= hi:
                in_lat_us.append((recv - sent) // 1000)
                in_at_ms.append((sent - lo) // 1_000_000)
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
            "in_at_ms": in_at_ms,
            "in_seen": {str(call): len(seen) for call, seen in in_seen.items()},
            "in_duplicates": duplicates,
            "out_sent": {str(call): n for call, n in out_sent.items()},
            "model_lag_us": lag_us,
            "counts": dict(self.counts),
        }


class Script:
    """What the model says: ``frames`` deltas of 20 ms starting every ``every_ns``."""

    def __init__(self, every_s: float, seconds: float, unprompted: bool = False) -> None:
        self.unprompted = unprompted
        self.every_ns = int(every_s * 1e9)
        self.frames = round(seconds / 0.020)
        if self.every_ns and self.frames * FRAME_NS > self.every_ns:
            raise SystemExit("fake model: a response must end before the next one starts")


class ModelConnection:
    """One bridge-to-model socket, driven by the pump once the upgrade is done."""

    def __init__(
        self, fd: int, codec: WsCodec, rec: Recorder, pump: Pump, number: int, script: Script
    ) -> None:
        self.fd = fd
        self.codec = codec
        self.out = bytearray()
        self.rec = rec
        self.pump = pump
        self.number = number
        self.script = script
        self.done = trio.Event()  # set (in trio) once the pump has let go of the socket
        self.closed = False
        self.call: int | None = None  # bound by the first caller frame
        self.ready_ns = 0  # when session.updated went out for the first session.update
        self.greeting_requested = script.unprompted
        self.speaking = False
        # Response schedule.
        self._first_ns = 0
        self._index = 0  # deltas sent on this connection
        self._response = 0
        self._frame = 0  # within the current response
        self._head = ""
        self._response_id = self._item_id = ""

    def start(self) -> None:
        session = {"type": "realtime", "model": "gpt-realtime"}
        created = {
            "type": "session.created",
            "event_id": f"evt_sc{self.number}",
            "session": session,
        }
        self.pump.add(self)
        self.pump.send(self, self.codec.frame(json.dumps(created)))

    def on_closed(self) -> None:
        self.closed = True
        self.pump.notify(self.done.set)

    def on_messages(self, messages: list[bytes], now: int) -> None:
        rec = self.rec
        for message in messages:
            if message.startswith(APPEND_PREFIX):
                at = len(APPEND_PREFIX)
            else:  # any key order, and json.dumps's default ", " / ": " separators
                at = message.find(AUDIO_KEY) + len(AUDIO_KEY)
                if at < len(AUDIO_KEY) or b"input_audio_buffer.append" not in message:
                    self._other(message)
                    continue
                while message[at : at + 1] == b" ":
                    at += 1
                if message[at : at + 1] != b'"':
                    self._other(message)
                    continue
                at += 1
            # One frame per append, or several (the bridge sends the audio it buffered while
            # the model connected in one append): every 160-byte frame carries its tag.
            end = message.find(b'"', at)
            try:
                if end - at > FRAME_B64_CHARS:
                    tags = read_tags(message[at:end])
                else:
                    tags = [read_tag(message[at : at + 24])]
            except ValueError:
                rec.counts["in_corrupt"] += 1
                continue
            for magic, call, index, sent in tags:
                if magic != CALLER_MAGIC:
                    rec.counts["in_corrupt"] += 1
                    continue
                rec.in_call.append(call)
                rec.in_index.append(index)
                rec.in_sent.append(sent)
                rec.in_recv.append(now)
                if self.call is None:
                    self.call = call
                    rec.counts["connections_bound"] += 1
                    if self.ready_ns:
                        rec.ready[call] = self.ready_ns
                    self._maybe_speak()
                elif call != self.call:
                    rec.counts["in_crosstalk"] += 1

    def _other(self, message: bytes) -> None:
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
            self.pump.send(self, self.codec.frame(json.dumps(reply)))
            if not self.ready_ns:
                self.ready_ns = mono_ns()
                if self.call is not None:
                    self.rec.ready[self.call] = self.ready_ns
        elif kind == "response.create":
            self.greeting_requested = True
            self._maybe_speak()

    def _maybe_speak(self) -> None:
        if not self.script.every_ns or not self.script.frames:
            return  # a silent model (--speak-every 0)
        if self.call is not None and self.greeting_requested and not self.speaking:
            self.speaking = True
            self._first_ns = mono_ns() + 5_000_000
            self._begin_response()
            self.pump.call_at(self._first_ns, self._send_delta)

    def _begin_response(self) -> None:
        call, response = self.call, self._response
        self._response_id = response_id = f"resp_{call}_{response}"
        self._item_id = item_id = f"item_{call}_{response}"
        self._head = (
            '{"type":"response.output_audio.delta","event_id":"e'
            + f'{call}_%d","response_id":"{response_id}","item_id":"{item_id}",'
            + '"output_index":0,"content_index":0,"delta":"%s"}'
        )
        self._frame = 0

    def _send_delta(self, sched_ns: int) -> None:
        """One delta of a 1-s response; responses start every 2 s on an absolute schedule."""
        if self.closed:
            return
        call = self.call
        assert call is not None
        codec = self.codec
        rec = self.rec
        now = mono_ns()
        index = self._index
        data = codec.frame(
            self._head % (index, tagged_payload(MODEL_MAGIC, call, index, now, FILLER))
        )
        j = self._frame
        if j == 0:
            data = codec.frame(_response_event("response.created", self._response_id)) + data
        if j == self.script.frames - 1:
            response_id, item_id = self._response_id, self._item_id
            data += codec.frame(
                f'{{"type":"response.output_audio.done","event_id":"ead_{item_id}",'
                f'"response_id":"{response_id}","item_id":"{item_id}",'
                '"output_index":0,"content_index":0}'
            ) + codec.frame(_response_event("response.done", response_id))
        self.pump.send(self, data)
        rec.out_call.append(call)
        rec.out_sent.append(now)
        rec.out_sched.append(sched_ns)
        self._index += 1
        self._frame += 1
        if self._frame < self.script.frames:
            next_ns = sched_ns + FRAME_NS
        else:
            self._response += 1
            self._begin_response()
            next_ns = self._first_ns + self._response * self.script.every_ns
        self.pump.call_at(next_ns, self._send_delta)


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


async def amain(host: str, port: int, script: Script) -> None:
    rec = Recorder()
    pump = Pump(TrioClock())
    numbers = iter(range(1, 1 << 30))

    async def handler(stream: trio.SocketStream) -> None:
        number = next(numbers)
        rec.counts["connections"] += 1
        try:
            codec, target, headers = await server_handshake(stream)
        except (WsClosed, trio.BrokenResourceError):
            rec.counts["handshake_failed"] += 1
            return
        if headers.get("authorization") != EXPECTED_AUTH:
            rec.counts["bad_authorization"] += 1
        if "model=gpt-realtime" not in target:
            rec.counts["no_model_in_url"] += 1
        connection = ModelConnection(stream.socket.fileno(), codec, rec, pump, number, script)
        pump.submit(connection.start)
        await connection.done.wait()
        # serve_tcp closes the stream when this returns; the pump no longer uses it.

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pump.run)
        listeners = await nursery.start(partial(trio.serve_tcp, handler, port, host=host))
        bound = listeners[0].socket.getsockname()[1]
        print(f"PORT {bound}", flush=True)
        parts = await read_command_line()
        pump.stop()
        await pump.finished.wait()
        if len(parts) in (5, 6) and parts[0] == "DUMP":
            path, w0, w1, cutoff = parts[1], float(parts[2]), float(parts[3]), float(parts[4])
            result = rec.dump(w0, w1, cutoff)
            if len(parts) == 6:
                result.update(rec.ramp_figures(int(float(parts[5]) * 1e9)))
            result["counts"]["pump wake-ups"] = pump.wakeups
            await trio.Path(path).write_text(json.dumps(result))
        nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--speak-every", type=float, default=2.0, help="s; 0: never speak")
    parser.add_argument("--speak-seconds", type=float, default=1.0, help="length of a response")
    parser.add_argument(
        "--speak-unprompted",
        action="store_true",
        help="start speaking at the first caller frame, without waiting for response.create",
    )
    args = parser.parse_args()
    script = Script(args.speak_every, args.speak_seconds, args.speak_unprompted)
    trio.run(amain, args.host, args.port, script)


if __name__ == "__main__":
    main()
