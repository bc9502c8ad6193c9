"""Regenerate ``g711.npz``, the G.711 golden tables, from CPython's ``audioop``.

Must run on Python ≤ 3.12: ``audioop`` was removed in 3.13. From the repository root::

    .venv/bin/python tests/codec/golden/make_g711_golden.py

Arrays (all exhaustive): ``ulaw_encode`` and ``alaw_encode`` hold 65,536 uint8 codes, entry k
for the int16 sample whose uint16 view is k (the input is
``np.arange(65536, dtype=np.uint16).view(np.int16)``); ``ulaw_decode`` and ``alaw_decode`` hold
256 int16 samples, entry k for code k.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("g711.npz")


def main() -> None:
    if sys.version_info >= (3, 13):
        sys.exit("audioop is gone in Python 3.13+; run this with Python 3.11 or 3.12")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop

    # audioop reads and writes samples in native byte order.
    samples = np.arange(65536, dtype=np.uint16).view(np.int16).tobytes()
    codes = bytes(range(256))
    np.savez_compressed(
        OUT,
        ulaw_encode=np.frombuffer(audioop.lin2ulaw(samples, 2), np.uint8),
        ulaw_decode=np.frombuffer(audioop.ulaw2lin(codes, 2), np.int16),
        alaw_encode=np.frombuffer(audioop.lin2alaw(samples, 2), np.uint8),
        alaw_decode=np.frombuffer(audioop.alaw2lin(codes, 2), np.int16),
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes) with Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
