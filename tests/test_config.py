"""Settings from the environment: defaults, overrides, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotelvoice.config import ConfigError, settings_from_env


def test_defaults_are_the_embedded_ones() -> None:
    settings = settings_from_env({}, dotenv=None)
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.stream_url == "wss://127.0.0.1:8080/twilio/media"
    # No token and a loopback URL: local development, signatures off (the app warns).
    assert settings.validate_signatures is False
    assert settings.openai_api_key is None
    assert settings.model_setup_timeout_s == 5.0 and settings.tool_timeout_s == 8.0
    assert settings.openai_audio == "pcmu"


@pytest.mark.parametrize(
    ("environ", "checked"),
    [
        ({"PUBLIC_URL": "https://hotel.example.com"}, True),
        ({"TWILIO_AUTH_TOKEN": "token"}, True),
        ({"PUBLIC_URL": "http://localhost:8080"}, False),
        ({"TWILIO_VALIDATE_SIGNATURES": "true"}, True),
    ],
)
def test_signatures_are_off_only_for_loopback_development_without_a_token(
    environ: dict[str, str], checked: bool
) -> None:
    assert settings_from_env(environ, dotenv=None).validate_signatures is checked


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
        },
        dotenv=None,
    )
    assert settings.stream_url == "wss://hotel.example.com/twilio/media"
    assert settings.public("/twilio/voice") == "https://hotel.example.com/twilio/voice"
    assert settings.validate_signatures is False
    assert settings.tool_timeout_s == 3.5
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
