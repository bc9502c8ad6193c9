"""What ``hotelvoice serve`` has imported once ``/healthz`` answers, per backend.

With ``OPENAI_API_KEY`` the offline engine is only the fallback: its speech (onnxruntime,
CTranslate2, Piper, espeak), numpy, the codec's transcoders and the softphone load on the first
call that needs them, never at start (start RSS: docs/architecture.md, Resources). On the
embedded defaults the engine is the backend and loads at start, so the first caller does not
wait for it. Each case is a real ``python -X importtime -m hotelvoice serve`` (signatures on):
what it imported is read from the interpreter's own import log on stderr.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import trio

from tests.web.test_cli import free_port

PUBLIC_URL = "https://hotel.example.com"
AUTH_TOKEN = "twilio-auth-token-for-tests"
ACCOUNT_SID = "AC" + "1" * 32
# Modules the offline engine, the PCM16 transcoders or the softphone need, and nothing else.
HEAVY = (
    "onnxruntime",
    "ctranslate2",
    "piper",
    "espeakng_loader",
    "hotelvoice.engine.speech",
    "numpy",
    "hotelvoice.engine.session",
    "hotelvoice.speech.",
    "hotelvoice.codec.g711",
    "hotelvoice.codec.resample",
    "hotelvoice.codec.transcode",
    "hotelvoice.softphone.client",
    "hotelvoice.softphone.script",
)


def imported(import_log: str) -> set[str]:
    """The modules ``-X importtime`` reported: ``import time: self | cumulative | name`` lines."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in import_log.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def heavy(modules: set[str]) -> list[str]:
    """The entries of HEAVY that ``modules`` holds (a package, or any of its modules)."""
    return [
        entry
        for entry in HEAVY
        if any(name == entry or name.startswith(entry.rstrip(".") + ".") for name in modules)
    ]


async def modules_at_start(tmp_path: Path, **env: str) -> set[str]:
    """Start ``hotelvoice serve``, wait for ``/healthz``, stop it (SIGTERM); what it imported."""
    port = free_port()
    environment = {
        "PATH": "/usr/bin:/bin",
        "PUBLIC_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE": "http://127.0.0.1:9",  # nothing leaves loopback
        "HOTELVOICE_DB": str(tmp_path / "hotelvoice.db"),
        **env,
    }
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-X", "importtime", "-m", "hotelvoice", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            with trio.fail_after(120):  # the offline engine loads its models first
                while True:
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert process.poll() is None, log.read_text()[-3000:]
                    await trio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(30):
            assert await process.wait() == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
    return imported(log.read_text())


async def test_the_openai_backend_starts_without_the_engine_numpy_or_the_softphone(
    tmp_path: Path,
) -> None:
    modules = await modules_at_start(
        tmp_path,
        OPENAI_API_KEY="sk-test",
        OPENAI_REALTIME_URL=f"ws://127.0.0.1:{free_port()}/v1/realtime",
    )
    assert "hotelvoice.web.app" in modules and "hotelvoice.engine.connector" in modules
    assert heavy(modules) == []


async def test_pcm16_to_openai_loads_the_transcoders_at_start_but_not_the_engine(
    tmp_path: Path,
) -> None:
    modules = await modules_at_start(
        tmp_path,
        OPENAI_API_KEY="sk-test",
        OPENAI_REALTIME_URL=f"ws://127.0.0.1:{free_port()}/v1/realtime",
        OPENAI_REALTIME_AUDIO="pcm16",
    )
    assert heavy(modules) == [
        "numpy",
        "hotelvoice.codec.g711",
        "hotelvoice.codec.resample",
        "hotelvoice.codec.transcode",
    ]


async def test_the_embedded_defaults_load_the_engine_at_start(tmp_path: Path) -> None:
    modules = await modules_at_start(tmp_path)  # no OPENAI_API_KEY: the offline engine answers
    loaded = heavy(modules)
    for engine_part in ("onnxruntime", "ctranslate2", "piper", "hotelvoice.engine.speech"):
        assert engine_part in loaded
    assert "numpy" in loaded
    assert "hotelvoice.softphone.client" not in loaded  # the softphone is for `hotelvoice call`
