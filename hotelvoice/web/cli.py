"""The ``hotelvoice`` command: ``serve``, ``diagrams`` and ``call`` (the softphone)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from hotelvoice.calls import diagrams
from hotelvoice.config import ConfigError, settings_from_env, signatures_for_bind
from hotelvoice.logsafe import configure_logging
from hotelvoice.properties.book import load_property_book
from hotelvoice.softphone.defaults import DEFAULT_VOICE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotelvoice", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service (Hypercorn, trio worker)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to bind (127.0.0.1); unsigned local development needs loopback",
    )
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes sharing the port, one per core (HOTELVOICE_WORKERS, 1)",
    )
    serve.add_argument("--log-level", default="INFO")
    drawn = commands.add_parser("diagrams", help="write or check docs/state-diagrams/")
    drawn.add_argument("--check", action="store_true", help="fail if the files are stale")
    drawn.add_argument("--dir", type=Path, default=diagrams.DEFAULT_DIR)
    _add_call_parser(commands)
    return parser


def _add_call_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    call = commands.add_parser(
        "call",
        help="call a running hotelvoice the way Twilio does (the softphone)",
        description=(
            "Ring a running hotelvoice exactly as Twilio would: the signed webhook, the media "
            "stream its TwiML asks for, 20 ms frames in real time, mark echoes. The caller "
            "waits for the greeting, says each line after the agent falls quiet, and hangs up "
            "after the last answer. Lines (--say, --dtmf, --script) run in the order given."
        ),
    )
    call.add_argument(
        "--server", metavar="URL", default="http://127.0.0.1:8080", help="where hotelvoice runs"
    )
    call.add_argument(
        "--public-url", metavar="URL", help="the server's public URL (PUBLIC_URL, else --server)"
    )
    call.add_argument(
        "--auth-token", metavar="TOKEN", help="Twilio auth token to sign with (TWILIO_AUTH_TOKEN)"
    )
    call.add_argument(
        "--account-sid", metavar="SID", help="Twilio account SID to call as (TWILIO_ACCOUNT_SID)"
    )
    call.add_argument(
        "--from", dest="from_", metavar="NUMBER", default="+15551230001", help="the caller's number"
    )
    call.add_argument(
        "--to", metavar="NUMBER", default="+15559870002", help="the number dialled (the hotel's)"
    )
    call.add_argument(
        "--say",
        dest="lines",
        action="append",
        type=lambda text: ("say", text),
        metavar="TEXT",
        help="a line to say (repeatable); 'wav:FILE' plays a recording",
    )
    call.add_argument(
        "--dtmf",
        dest="lines",
        action="append",
        type=lambda digits: ("dtmf", digits),
        metavar="DIGITS",
        help="key presses, as a line of their own (repeatable)",
    )
    call.add_argument(
        "--script",
        dest="lines",
        action="append",
        type=lambda path: ("script", path),
        metavar="FILE",
        help="lines from a file: one per line, '#' comments, 'wav:FILE', 'dtmf:DIGITS'",
    )
    call.add_argument(
        "--voice",
        metavar="VOICE",
        default=None,
        help=f"the caller's espeak voice ({DEFAULT_VOICE})",
    )
    call.add_argument(
        "--barge-in", action="store_true", help="talk over the agent, 0.5 s into each answer"
    )
    call.add_argument(
        "--fast", action="store_true", help="run the call 10x faster than real time (tests)"
    )
    call.add_argument("--record", type=Path, metavar="FILE", help="write the call as stereo WAV")
    call.add_argument(
        "--max-seconds",
        type=float,
        default=180.0,
        metavar="N",
        help="hang up after this long (180)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "call":
        from hotelvoice.softphone.command import run_call  # the softphone loads only to call

        return run_call(args)
    if args.command == "diagrams":
        if args.check:
            stale = diagrams.check(args.dir)
            if stale:
                print("stale (run `hotelvoice diagrams`): " + ", ".join(stale), file=sys.stderr)
                return 1
            print("docs/state-diagrams is up to date")
            return 0
        for path in diagrams.write(args.dir):
            print(f"wrote {path}")
        return 0
    # Every handler escapes, cuts and redacts what outside input put in a record.
    configure_logging(args.log_level)
    try:
        settings = settings_from_env()
        # The properties too: a mistake in the file is reported here, naming the field,
        # rather than as a traceback from the server's start-up.
        load_property_book(settings)
    except ConfigError as exc:
        print(f"hotelvoice: configuration error: {exc}", file=sys.stderr)
        return 2
    # Whether Twilio signatures are checked depends on who can reach the server: the bind.
    decision = signatures_for_bind(settings, args.host)
    if decision.message is not None:
        logging.getLogger("hotelvoice.web.cli").log(decision.level, "%s", decision.message)
    settings = decision.settings
    if args.workers is not None:
        settings = attrs.evolve(settings, workers=args.workers)
    if settings.workers < 1:
        print(
            "hotelvoice: configuration error: --workers (HOTELVOICE_WORKERS) must be at least 1",
            file=sys.stderr,
        )
        return 2
    if settings.workers > 1:
        from hotelvoice.web.workers import serve_workers  # the parent of several workers

        return serve_workers(settings, host=args.host, port=args.port, log_level=args.log_level)
    from hotelvoice.web.server import run_server  # imports the web stack only when serving

    run_server(settings, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
