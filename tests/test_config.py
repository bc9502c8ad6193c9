"""Settings from the environment: defaults, overrides, and errors that name the variable."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hotelvoice.config import ConfigError, settings_from_env, signatures_for_bind


def test_defaults_are_the_embedded_ones() -> None:
    settings = settings_from_env({}, dotenv=None)
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.stream_url == "wss://127.0.0.1:8080/twilio/media"
    # Not set: the serve command decides from the address it binds (signatures_for_bind).
    assert settings.validate_signatures is None
    assert settings.signatures_checked
    assert settings.stream_start_timeout_s == 3.0
    assert settings.engine_key is None
    assert settings.openai_api_key is None
    assert settings.model_setup_timeout_s == 5.0 and settings.tool_timeout_s == 8.0
    assert settings.openai_audio == "pcmu"


@pytest.mark.parametrize(
    ("environ", "host", "checked", "level"),
    [
        # Unsigned development only bound to loopback, with no token and nothing said.
        ({}, "127.0.0.1", False, logging.WARNING),
        ({}, "::1", False, logging.WARNING),
        ({}, "localhost", False, logging.WARNING),
        ({"TWILIO_AUTH_TOKEN": "token"}, "127.0.0.1", True, logging.INFO),
        # Bound to other hosts: on, whatever PUBLIC_URL says (everything refused: no token).
        ({}, "0.0.0.0", True, logging.WARNING),
        ({"PUBLIC_URL": "http://127.0.0.1:8080"}, "0.0.0.0", True, logging.WARNING),
        ({"PUBLIC_URL": "http://localhost:8080"}, "10.0.0.5", True, logging.WARNING),
        ({}, "127.hotel.example.com", True, logging.WARNING),
        ({"TWILIO_AUTH_TOKEN": "token"}, "0.0.0.0", True, logging.INFO),
        # Explicit: obeyed, an error when others can reach the server.
        ({"TWILIO_VALIDATE_SIGNATURES": "false"}, "0.0.0.0", False, logging.ERROR),
        ({"TWILIO_VALIDATE_SIGNATURES": "false"}, "127.0.0.1", False, logging.WARNING),
        ({"TWILIO_VALIDATE_SIGNATURES": "true"}, "127.0.0.1", True, logging.WARNING),
    ],
)
def test_signatures_are_off_only_bound_to_loopback_without_a_token(
    environ: dict[str, str], host: str, checked: bool, level: int
) -> None:
    decision = signatures_for_bind(settings_from_env(environ, dotenv=None), host)
    assert decision.settings.validate_signatures is checked
    assert decision.level == level
    assert (decision.message is None) is (level == logging.INFO)
    if not checked:
        assert decision.message is not None and "NOT checked" in decision.message


def test_public_url_alone_never_switches_signatures_off() -> None:
    settings = settings_from_env({"PUBLIC_URL": "http://127.0.0.1:8080"}, dotenv=None)
    assert settings.validate_signatures is None and settings.signatures_checked


@pytest.mark.parametrize(("value", "expected"), [("pcm16", "pcm16"), (" PCMU ", "pcmu")])
def test_model_audio_format_is_chosen_by_environment(value: str, expected: str) -> None:
    settings = settings_from_env({"OPENAI_REALTIME_AUDIO": value}, dotenv=None)
    assert settings.openai_audio == expected


def test_environment_overrides_and_secrets_stay_out_of_repr() -> None:
    settings = settings_from_env(
        {
            "PUBLIC_URL": "https://hotel.example.com/",
            "TWILIO_AUTH_TOKEN": "secret-token",
            "OPENAI_API_KEY": "sk-secret",
            "TWILIO_VALIDATE_SIGNATURES": "false",
            "HOTELVOICE_TOOL_TIMEOUT": "3.5",
            "HOTELVOICE_ENGINE_KEY": "engine-secret",
        },
        dotenv=None,
    )
    assert settings.stream_url == "wss://hotel.example.com/twilio/media"
    assert settings.public("/twilio/voice") == "https://hotel.example.com/twilio/voice"
    assert settings.validate_signatures is False
    assert settings.tool_timeout_s == 3.5
    assert settings.engine_key == "engine-secret"
    assert "secret" not in repr(settings)


def test_dotenv_is_read_and_the_real_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("HOTEL_NAME=Hotel Dotenv\nFRONT_DESK_PHONE=+15550001\n", encoding="utf-8")
    settings = settings_from_env({"HOTEL_NAME": "Hotel Env"}, dotenv=dotenv)
    assert settings.hotel_name == "Hotel Env"
    assert settings.front_desk_phone == "+15550001"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HOTELVOICE_TOOL_TIMEOUT", "soon"),
        ("HOTELVOICE_SILENCE_TIMEOUT", "0"),
        ("HOTELVOICE_INBOUND_BUFFER_FRAMES", "-1"),
        ("TWILIO_VALIDATE_SIGNATURES", "maybe"),
        ("PUBLIC_URL", "hotel.example.com"),
        ("OPENAI_REALTIME_URL", "https://api.openai.com/v1/realtime"),
        ("OPENAI_REALTIME_AUDIO", "opus"),
    ],
)
def test_bad_values_fail_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        settings_from_env({variable: value}, dotenv=None)
