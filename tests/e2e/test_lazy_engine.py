"""With OpenAI as the backend the offline engine (and numpy) is not loaded until a call falls
back to it, and then within the model setup deadline.

Checked in a fresh interpreter (``lazy_engine_probe.py``), since this one has long imported the
speech libraries for other tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import trio

REPO = Path(__file__).resolve().parents[2]


async def test_the_engine_loads_only_when_openai_is_unreachable() -> None:
    with trio.fail_after(120):
        probe = await trio.run_process(
            [sys.executable, "-m", "tests.e2e.lazy_engine_probe"],
            cwd=REPO,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert probe.returncode == 0, probe.stderr.decode(errors="replace")[-3000:]
    result = json.loads(probe.stdout.decode().strip().splitlines()[-1])
    assert result["serving"] == {"heavy": [], "kit": False}
    after = result["after_fallback"]
    assert after["kit"] is True
    assert "ctranslate2" in after["heavy"] and "hotelvoice.engine.speech" in after["heavy"]
    assert "numpy" in after["heavy"]
    assert after["fallbacks"] == 1
    # The first fallback loads the engine inside the model setup deadline (5 s): the call is
    # not ended for it, and the caller hangs up after hearing the greeting.
    assert (after["hung_up"], after["timed_out"]) == (1, 0)
    assert after["heard"] >= 8000  # the offline engine's greeting reached the caller
