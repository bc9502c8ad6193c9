"""The ``hotelvoice`` command: ``serve`` and ``diagrams``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from hotelvoice import diagrams
from hotelvoice.config import ConfigError, settings_from_env
from hotelvoice.hotel.properties import load_property_book


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotelvoice", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service (Hypercorn, trio worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--log-level", default="INFO")
    drawn = commands.add_parser("diagrams", help="write or check docs/state-diagrams/")
    drawn.add_argument("--check", action="store_true", help="fail if the files are stale")
    drawn.add_argument("--dir", type=Path, default=diagrams.DEFAULT_DIR)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = settings_from_env()
        # The properties too: a mistake in the file is reported here, naming the field,
        # rather than as a traceback from the server's start-up.
        load_property_book(settings)
    except ConfigError as exc:
        print(f"hotelvoice: configuration error: {exc}", file=sys.stderr)
        return 2
    from hotelvoice.server import run_server  # imports the web stack only when serving

    run_server(settings, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
