"""The README's service command: `hotelvoice serve` starts on its defaults and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_health_checks_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TWILIO_"))}
    env["HOTELVOICE_SECRET_KEY"] = "s3cr3t-payment-key"
    process = subprocess.Popen(
        [sys.executable, "-m", "hotelvoice", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = None
        for _ in range(200):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert health == {"status": "ok", "version": "0.1.0", "backend": "local", "calls_active": 0}
        # Embedded defaults: bound to loopback, no token, so local calls need no signature.
        answer = httpx.post(
            f"http://127.0.0.1:{port}/twilio/voice", data={"CallSid": "CA" + "0" * 32}
        )
        assert answer.status_code == 200
        assert "<Stream" in answer.text
        # The access log (Hypercorn's) goes through the safe-log filter: no payment token.
        httpx.get(f"http://127.0.0.1:{port}/pay/SECRETPAYTOKEN", timeout=5)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "Twilio signatures are NOT checked" in output
    assert "the offline engine answers calls" in output
    assert '"GET /pay/… 1.1"' in output
    assert "SECRETPAYTOKEN" not in output and "s3cr3t-payment-key" not in output


def test_bad_configuration_fails_at_start_naming_the_variable(tmp_path: Path) -> None:
    env = dict(os.environ, HOTELVOICE_TOOL_TIMEOUT="soon")
    result = subprocess.run(
        [sys.executable, "-m", "hotelvoice", "serve", "--port", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "HOTELVOICE_TOOL_TIMEOUT" in result.stderr


def test_a_mistake_in_the_properties_file_fails_at_start_naming_the_field(
    tmp_path: Path,
) -> None:
    properties = tmp_path / "hotels.toml"
    properties.write_text(
        '[[property]]\nid = "inn"\nname = "Inn"\n'
        '[[property.room_type]]\ncode = "king"\nname = "King"\ncount = 0\n'
        "max_guests = 2\nrate = 100\n"
    )
    env = dict(os.environ, HOTELVOICE_PROPERTIES=str(properties))
    result = subprocess.run(
        [sys.executable, "-m", "hotelvoice", "serve", "--port", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "room_type[0].count must be a positive integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_creates_the_store_in_the_working_directory(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TWILIO_"))}
    env["HOTEL_NAME"] = "Harbour House"
    process = subprocess.Popen(
        [sys.executable, "-m", "hotelvoice", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        missing = httpx.get(f"http://127.0.0.1:{port}/pay/nothing.1.x", timeout=5)
        assert missing.status_code == 404
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert (tmp_path / "hotelvoice.db").is_file()
    assert "hotel: 1 property (default)" in output


@pytest.mark.parametrize(
    ("extra_env", "status", "said"),
    [
        ({}, 403, "WARNING hotelvoice.web.cli: TWILIO_AUTH_TOKEN is not set and the server is"),
        (
            {"TWILIO_VALIDATE_SIGNATURES": "false"},
            200,
            "ERROR hotelvoice.web.cli: Twilio signatures are NOT checked",
        ),
    ],
)
def test_bound_beyond_loopback_signatures_stay_on_unless_switched_off_loudly(
    tmp_path: Path, extra_env: dict[str, str], status: int, said: str
) -> None:
    # The default PUBLIC_URL is on loopback; what counts is the address the server binds.
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TWILIO_"))}
    env.update(extra_env)
    process = subprocess.Popen(
        [sys.executable, "-m", "hotelvoice", "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/twilio/voice", data={"CallSid": "CA" + "0" * 32}
        )
        assert answer.status_code == status
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert said in output


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["--workers", "0"], {}, "--workers (HOTELVOICE_WORKERS) must be at least 1"),
        ([], {"HOTELVOICE_WORKERS": "0"}, "--workers (HOTELVOICE_WORKERS) must be at least 1"),
        ([], {"HOTELVOICE_WORKERS": "two"}, "HOTELVOICE_WORKERS"),
    ],
)
def test_a_bad_worker_count_fails_at_start(
    tmp_path: Path, argv: list[str], env: dict[str, str], named: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hotelvoice", "serve", "--port", "1", *argv],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert named in result.stderr
