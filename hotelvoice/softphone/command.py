"""``hotelvoice call``: the softphone's command line (parsed in :mod:`hotelvoice.web.cli`).

Defaults come from the environment (and a ``.env`` file in the working directory, the real
environment winning), as for the server: ``PUBLIC_URL``, ``TWILIO_AUTH_TOKEN`` and
``TWILIO_ACCOUNT_SID``, so a softphone started next to ``hotelvoice serve`` signs what the
server checks. Exit status: 0 when the call ran and ended cleanly, 1 otherwise (a one-line
``hotelvoice call: ...`` on stderr says why).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import trio
from dotenv import dotenv_values

from hotelvoice.config import ConfigError, settings_from_env
from hotelvoice.softphone.client import FAST_SPEED, CallOptions, CallRecord, SoftphoneCall
from hotelvoice.softphone.errors import SoftphoneError
from hotelvoice.softphone.recording import build_report, format_report, write_recording
from hotelvoice.softphone.script import (
    DEFAULT_VOICE,
    ScriptEntry,
    load_lines,
    parse_entry,
    read_script,
)
from hotelvoice.speech.asr import Transcriber

__all__ = ["call_options", "run_call", "script_entries"]


def _environment() -> Mapping[str, str]:
    merged: dict[str, str] = {}
    if Path(".env").is_file():
        merged.update({k: v for k, v in dotenv_values(".env").items() if v is not None})
    merged.update(os.environ)
    return merged


def _setting(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def call_options(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> CallOptions:
    """The call's options from the parsed arguments, with the environment's defaults."""
    env = _environment() if env is None else env
    server = args.server if "://" in args.server else "http://" + args.server
    return CallOptions(
        server=server,
        public_url=args.public_url or _setting(env, "PUBLIC_URL"),
        auth_token=args.auth_token or _setting(env, "TWILIO_AUTH_TOKEN"),
        account_sid=args.account_sid or _setting(env, "TWILIO_ACCOUNT_SID"),
        from_=args.from_,
        to=args.to,
        speed=FAST_SPEED if args.fast else 1.0,
        max_seconds=args.max_seconds,
        barge_in=args.barge_in,
    )


def script_entries(items: Sequence[tuple[str, str]]) -> list[ScriptEntry]:
    """``--say``/``--dtmf``/``--script`` arguments, in the order given, as script entries.

    Raises:
        SoftphoneError: a script file cannot be read, or a line is malformed.
    """
    entries: list[ScriptEntry] = []
    for kind, value in items:
        if kind == "script":
            entries += read_script(value)
        elif kind == "dtmf":
            entries.append(parse_entry(f"dtmf:{value}"))
        else:
            entries.append(parse_entry(value))
    return entries


def _ending(record: CallRecord, max_seconds: float) -> str:
    seconds = f"after {record.duration:.1f} s"
    if record.outcome == "completed":
        return f"call ended: the script is done; hung up {seconds}"
    if record.outcome == "time_limit":
        return f"call ended: hung up at the --max-seconds limit ({max_seconds:g} s)"
    if record.outcome == "server_hung_up":
        tail = ", ".join(
            f"<{verb}> {text!r}" if text else f"<{verb}>" for verb, text in record.twiml.tail
        )
        then = f"; Twilio would now run the TwiML tail: {tail}" if tail else ""
        return f"call ended: the server closed the stream {seconds}{then}"
    return f"call ended: the stream dropped {seconds} (close code {record.close_code})"


def _transcriber() -> Transcriber | None:
    """The recogniser for the agent's side: the model ``HOTELVOICE_STT_MODEL`` names, as the
    server's offline engine uses (None: the bundled one, or the setting cannot be read)."""
    try:
        model = settings_from_env().stt_model
    except ConfigError:
        return None
    return Transcriber(model) if model else None


async def _call(args: argparse.Namespace, options: CallOptions, entries: list[ScriptEntry]) -> int:
    say = functools.partial(print, flush=True)
    voice = args.voice or DEFAULT_VOICE
    lines = await trio.to_thread.run_sync(functools.partial(load_lines, entries, voice=voice))
    say(f"calling {options.to} at {options.server} from {options.from_}")
    record = await SoftphoneCall(options, lines, progress=say).run()
    say(_ending(record, options.max_seconds))
    echoes = record.playout.echoes
    flushed = sum(1 for echo in echoes if echo.flushed)
    say(
        f"heard {sum(len(p.data) for p in record.playout.played) / 8000:.1f} s of agent audio; "
        f"{len(echoes)} of {len(record.marks_received)} marks echoed ({flushed} flushed by "
        f"{len(record.playout.clears)} clears)"
    )
    if args.record is not None:
        await trio.to_thread.run_sync(write_recording, args.record, record)
        say(f"recording: {args.record} (8 kHz stereo: caller left, agent right)")
    report = await trio.to_thread.run_sync(
        lambda: build_report(record, transcriber=_transcriber())  # loads a model: off the loop
    )
    say(format_report(report))
    for violation in record.violations:
        print(f"protocol violation by the server: {violation}", file=sys.stderr)
    if record.clean:
        return 0
    if record.violations:
        why = f"the server broke Twilio's protocol {len(record.violations)} time(s)"
    elif record.outcome == "time_limit":
        why = "the script did not finish within --max-seconds"
    elif record.outcome == "server_hung_up":
        why = "the server closed the stream before the agent said anything"
    else:
        why = f"the stream dropped (close code {record.close_code})"
    print(f"hotelvoice call: {why}", file=sys.stderr)
    return 1


def run_call(args: argparse.Namespace) -> int:
    """Run ``hotelvoice call`` with parsed ``args``; returns the exit status."""
    try:
        try:
            options = call_options(args)
        except ValueError as exc:  # e.g. --max-seconds 0
            raise SoftphoneError(str(exc)) from None
        entries = script_entries(args.lines or [])
        return trio.run(_call, args, options, entries)
    except SoftphoneError as exc:
        print(f"hotelvoice call: {exc}", file=sys.stderr)
        return 1
