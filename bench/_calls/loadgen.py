"""Simulated Twilio for ``bench/calls.py``: drives a share of the calls from one process.

Protocol with the parent: prints ``READY`` once set up, then reads one line
``GO <t0> <ramp> <w0> <w1> <cutoff>`` (CLOCK_MONOTONIC seconds) on stdin, runs its calls, writes
its figures as JSON to ``--result`` and exits.

Call ``g`` (of ``--total``) starts at ``t0 + ramp * g / total``: signed webhook POST, signed
WebSocket upgrade, ``connected``, ``start`` (with the TwiML's parameters), then one tagged
160-byte ``media`` frame every 20 ms on an absolute schedule until ``w1``, then ``stop`` and a
close. Outbound audio is played into a model of Twilio's playout queue (8 bytes/ms, FIFO), and
each mark is echoed with the first frame sent after playback reaches it (Twilio plays in 20 ms
frames too); ``clear`` empties the queue and echoes every pending mark at once.

``--mode sample`` plays Twilio for Twilio's own speech-assistant sample instead: unsigned webhook
POST to ``/incoming-call``, unsigned upgrade to the ``<Stream>`` URL's path (``/media-stream``),
no token expected; everything after the upgrade is the same.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import time
from array import array
from collections import Counter, deque
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
import trio
from twilio.request_validator import RequestValidator

from bench._calls.wire import (
    BYTES_PER_MS,
    CALLER_MAGIC,
    MODEL_MAGIC,
    Pump,
    TrioClock,
    WsClosed,
    WsCodec,
    client_handshake,
    filler_b64,
    mono_ns,
    read_command_line,
    read_tags,
    tagged_payload,
)

PARAMETER = re.compile(r'<Parameter name="([^"]*)" value="([^"]*)"')
STREAM_URL = re.compile(r'<Stream [^>]*url="([^"]*)"')
MEDIA_PREFIX = b'{"event":"media"'
MARK_PREFIX = b'{"event":"mark"'
PAYLOAD_KEY = b'"payload":"'
NAME_KEY = b'"name":'
FILLER = filler_b64(CALLER_MAGIC)
CLOSE_WAIT_NS = 3_000_000_000
FRAME_NS = 20_000_000


def call_sid(g: int) -> str:
    return f"CA{0xCA11 << 96 | g:032x}"


def stream_sid(g: int) -> str:
    return f"MZ{0x5EED << 96 | g:032x}"


class Plan:
    def __init__(self, t0: float, ramp: float, w0: float, w1: float, cutoff: float) -> None:
        self.t0, self.ramp, self.w0, self.w1, self.cutoff = t0, ramp, w0, w1, cutoff
        self.w0_ns, self.w1_ns, self.cut_ns = int(w0 * 1e9), int(w1 * 1e9), int(cutoff * 1e9)


class Shared:
    """Per-process results."""

    def __init__(self) -> None:
        self.out_lat_us = array("q")
        self.out_at_ms = array("q")  # send time of each, ms after w0
        self.gen_lag_us = array("q")
        self.in_sent: dict[int, int] = {}
        self.out_seen: dict[int, int] = {}
        self.setup_ms: list[float] = []
        self.failures: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()


class Playout:
    """Twilio's outbound queue for one call: audio plays at 8 bytes/ms, marks FIFO with it."""

    def __init__(self) -> None:
        self.play_end = 0.0  # monotonic s when the queued audio finishes
        self.marks: deque[tuple[float, bytes]] = deque()

    def audio(self, now: float, nbytes: int) -> None:
        self.play_end = max(self.play_end, now) + nbytes / (BYTES_PER_MS * 1000)

    def mark(self, now: float, name: bytes) -> None:
        self.marks.append((max(self.play_end, now), name))

    def clear(self, now: float) -> None:
        self.play_end = now
        self.marks = deque((now, name) for _, name in self.marks)

    def due(self, now: float) -> list[bytes]:
        marks = self.marks
        out = []
        while marks and marks[0][0] <= now:
            out.append(marks.popleft()[1])
        return out


class SimulatedCall:
    """One call: set up in its own trio task, then driven by the pump (timer + socket events)."""

    def __init__(
        self, g: int, args: argparse.Namespace, plan: Plan, shared: Shared, pump: Pump
    ) -> None:
        self.g = g
        self.args = args
        self.plan = plan
        self.shared = shared
        self.pump = pump
        self.call_sid = call_sid(g)
        self.stream_sid = stream_sid(g)
        self.playout = Playout()
        self.seq = 0
        self.out_seen: set[int] = set()
        self.server_closed = False
        self.stop_sent = False
        self.in_sent = 0  # caller frames sent in [w0, cutoff]
        self.done = trio.Event()  # set (in trio) once the pump has let go of the socket
        self.closed = False
        # For the pump.
        self.fd = -1
        self.codec = WsCodec(client=True)
        self.out = bytearray()
        self._frame = 0
        self._first_ns = 0
        sid = self.stream_sid
        self._media = (
            '{"event":"media","sequenceNumber":"%d","streamSid":"' + sid + '",'
            '"media":{"track":"inbound","chunk":"%d","timestamp":"%d","payload":"%s"}}'
        )
        self._mark = (
            '{"event":"mark","sequenceNumber":"%d","streamSid":"' + sid + '","mark":{"name":%s}}'
        )

    async def run(self, http: httpx.AsyncClient, clock: TrioClock) -> None:
        plan, shared, args = self.plan, self.shared, self.args
        await trio.sleep_until(clock.at(plan.t0 + plan.ramp * self.g / args.total))
        began = time.monotonic()
        form = {
            "AccountSid": args.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "From": f"+1555{self.g:07d}",
            "To": "+15550100000",
        }
        sample = args.mode == "sample"
        webhook = "/incoming-call" if sample else "/twilio/voice"
        headers = {}
        if not sample:
            url = args.public_url + webhook
            signature = RequestValidator(args.auth_token).compute_signature(url, form)
            headers["X-Twilio-Signature"] = signature
        try:
            response = await http.post(webhook, data=form, headers=headers)
        except httpx.HTTPError as exc:
            shared.failures[f"webhook {type(exc).__name__}"] += 1
            return
        if response.status_code != 200:
            shared.failures[f"webhook HTTP {response.status_code}"] += 1
            return
        twiml = response.text
        parameters = {name: html.unescape(value) for name, value in PARAMETER.findall(twiml)}
        stream_url = STREAM_URL.search(twiml)
        if stream_url is None or ("token" not in parameters and not sample):
            shared.failures["TwiML without <Stream> token"] += 1
            return
        if sample:  # the sample neither signs nor checks anything
            resource = urlsplit(html.unescape(stream_url.group(1))).path or "/"
            ws_headers = {}
        else:
            resource = "/twilio/media"
            ws_headers = {
                "X-Twilio-Signature": RequestValidator(args.auth_token).compute_signature(
                    html.unescape(stream_url.group(1)), {}
                )
            }
        try:
            stream = await trio.open_tcp_stream("127.0.0.1", args.port)
        except OSError as exc:
            shared.failures[f"connect {type(exc).__name__}"] += 1
            return
        try:
            try:
                self.codec = await client_handshake(
                    stream,
                    f"127.0.0.1:{args.port}",
                    resource,
                    ws_headers,
                )
            except (WsClosed, trio.BrokenResourceError) as exc:
                shared.failures[f"upgrade: {exc}"[:60]] += 1
                return
            self.fd = stream.socket.fileno()
            self.pump.submit(partial(self._begin, parameters))
            shared.setup_ms.append((time.monotonic() - began) * 1000)
            await self.done.wait()
        finally:
            await trio.aclose_forcefully(stream)
        if self.server_closed and not self.stop_sent:
            shared.failures["closed by the bridge before stop"] += 1
        shared.in_sent[self.g] = self.in_sent
        shared.out_seen[self.g] = len(self.out_seen)

    def _begin(self, parameters: dict[str, str]) -> None:
        args = self.args
        sid = self.stream_sid
        connected = '{"event":"connected","protocol":"Call","version":"1.0.0"}'
        start = json.dumps(
            {
                "event": "start",
                "sequenceNumber": "1",
                "streamSid": sid,
                "start": {
                    "streamSid": sid,
                    "accountSid": args.account_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )
        self.seq = 1
        self.pump.add(self)
        self.pump.send(self, self.codec.frames([connected, start]))
        self._first_ns = mono_ns() + FRAME_NS
        self.pump.call_at(self._first_ns, self._tick)

    def _tick(self, sched_ns: int) -> None:
        """Send the caller frame due at ``sched_ns`` (and echo the marks played by now)."""
        if self.closed:
            return
        plan = self.plan
        if sched_ns >= plan.w1_ns:
            self._stop()
            return
        now = mono_ns()
        i = self._frame
        self.seq += 1
        codec = self.codec
        data = codec.frame(
            self._media
            % (self.seq, i + 1, i * 20, tagged_payload(CALLER_MAGIC, self.g, i, now, FILLER))
        )
        playout = self.playout
        if playout.marks:
            for name in playout.due(now / 1e9):
                self.seq += 1
                data += codec.frame(self._mark % (self.seq, name.decode()))
                self.shared.counts["marks echoed"] += 1
        self.pump.send(self, data)
        if plan.w0_ns <= now <= plan.w1_ns:
            self.shared.gen_lag_us.append((now - sched_ns) // 1000)
            if now <= plan.cut_ns:
                self.in_sent += 1
        self._frame = i + 1
        self.pump.call_at(self._first_ns + (i + 1) * FRAME_NS, self._tick)

    def _stop(self) -> None:
        self.seq += 1
        stop = (
            f'{{"event":"stop","sequenceNumber":"{self.seq}","streamSid":"{self.stream_sid}",'
            f'"stop":{{"accountSid":"{self.args.account_sid}","callSid":"{self.call_sid}"}}}}'
        )
        self.stop_sent = True
        self.pump.send(self, self.codec.frame(stop) + self.codec.close())
        # Wait for the bridge's close, bounded.
        self.pump.call_at(mono_ns() + CLOSE_WAIT_NS, self._give_up)

    def _give_up(self, _: int) -> None:
        if not self.closed:
            self.pump.remove(self)
            self.closed = True
            self.pump.notify(self.done.set)

    def on_closed(self) -> None:
        if not self.closed:
            self.server_closed = True
            self.closed = True
            self.pump.notify(self.done.set)

    def on_messages(self, messages: list[bytes], now: int) -> None:
        shared, plan = self.shared, self.plan
        counts = shared.counts
        playout = self.playout
        seen = self.out_seen
        g = self.g
        now_s = now / 1e9
        for message in messages:
            if message.startswith(MEDIA_PREFIX):
                at = message.find(PAYLOAD_KEY) + len(PAYLOAD_KEY)
                payload = message[at : message.find(b'"', at)]
                nbytes = len(payload) * 3 // 4 - payload[-2:].count(b"=")
                playout.audio(now_s, nbytes)
                try:
                    tags = read_tags(payload)
                except ValueError:
                    counts["out_corrupt"] += 1
                    continue
                for magic, call, index, sent in tags:
                    if magic != MODEL_MAGIC:
                        counts["out_corrupt"] += 1
                    elif call != g:
                        counts["out_crosstalk"] += 1
                    elif plan.w0_ns <= sent <= plan.w1_ns:
                        shared.out_lat_us.append((now - sent) // 1000)
                        shared.out_at_ms.append((sent - plan.w0_ns) // 1_000_000)
                        if sent <= plan.cut_ns:
                            if index in seen:
                                counts["out_duplicates"] += 1
                            seen.add(index)
                counts["media received"] += 1
            elif message.startswith(MARK_PREFIX):
                at = message.find(NAME_KEY) + len(NAME_KEY)
                playout.mark(now_s, message[at : message.rfind(b"}", 0, -1)])
                counts["marks received"] += 1
            else:
                self._other(message, now_s)

    def _other(self, message: bytes, now_s: float) -> None:
        counts = self.shared.counts
        try:
            event = json.loads(message)
        except ValueError:
            counts["bad JSON from the bridge"] += 1
            return
        kind = event.get("event") if isinstance(event, dict) else None
        if kind == "clear":
            self.playout.clear(now_s)
            counts["clears"] += 1
        else:
            counts[f"unexpected {kind!r} from the bridge"] += 1


async def amain(args: argparse.Namespace) -> None:
    clock = TrioClock()
    shared = Shared()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{args.port}", timeout=30.0, limits=limits
    ) as http:
        print("READY", flush=True)
        parts = await read_command_line()
        if not parts:
            return
        if len(parts) != 6 or parts[0] != "GO":
            raise SystemExit(f"loadgen: unexpected command {parts!r}")
        plan = Plan(*(float(p) for p in parts[1:]))
        pump = Pump(clock)
        calls = [
            SimulatedCall(g, args, plan, shared, pump)
            for g in range(args.proc, args.total, args.procs)
        ]
        async with trio.open_nursery() as outer:
            outer.start_soon(pump.run)
            async with trio.open_nursery() as nursery:
                for call in calls:
                    nursery.start_soon(call.run, http, clock)
            pump.stop()
            await pump.finished.wait()
        shared.counts["pump wake-ups"] = pump.wakeups
    result: dict[str, Any] = {
        "calls": len(calls),
        "out_lat_us": shared.out_lat_us.tolist(),
        "out_at_ms": shared.out_at_ms.tolist(),
        "gen_lag_us": shared.gen_lag_us.tolist(),
        "in_sent": {str(g): n for g, n in shared.in_sent.items()},
        "out_seen": {str(g): n for g, n in shared.out_seen.items()},
        "setup_ms": shared.setup_ms,
        "failures": dict(shared.failures),
        "counts": dict(shared.counts),
    }
    await trio.Path(args.result).write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--total", type=int, required=True, help="calls over all generators")
    parser.add_argument("--proc", type=int, default=0, help="this generator's number")
    parser.add_argument("--procs", type=int, default=1, help="number of generators")
    parser.add_argument("--public-url", required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument(
        "--mode",
        choices=("hotelvoice", "sample"),
        default="hotelvoice",
        help="sample: Twilio's speech-assistant sample (unsigned /incoming-call, /media-stream)",
    )
    trio.run(amain, parser.parse_args())


if __name__ == "__main__":
    main()
