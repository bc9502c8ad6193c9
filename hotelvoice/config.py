"""Settings from the environment (and a ``.env`` file in the working directory).

The real environment wins over ``.env``. A bad value fails at start with a message naming the
variable, never half-way through a call.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import attrs
from dotenv import dotenv_values

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@attrs.frozen
class Settings:
    public_url: str = "http://127.0.0.1:8080"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = attrs.field(default=None, repr=False)
    validate_signatures: bool = True
    twilio_api_base: str = "https://api.twilio.com"
    openai_api_key: str | None = attrs.field(default=None, repr=False)
    openai_realtime_url: str = "wss://api.openai.com/v1/realtime"
    openai_model: str = "gpt-realtime"
    openai_voice: str = "marin"
    openai_audio: Literal["pcmu", "pcm16"] = "pcmu"
    hotel_name: str = "our hotel"
    hotel_location: str | None = None
    hotel_checkin_time: str = "3:00 PM"
    hotel_checkout_time: str = "11:00 AM"
    hotel_pet_policy: str | None = None
    front_desk_phone: str | None = None
    housekeeping_phone: str | None = None
    management_phone: str | None = None
    maintenance_phone: str | None = None
    hotel_timezone: str = "UTC"
    # The hotel package: store, properties, payments.
    db_path: str = "hotelvoice.db"
    properties_file: str | None = None  # TOML of properties; None: the single HOTEL_* one
    stripe_api_key: str | None = attrs.field(default=None, repr=False)
    stripe_api_base: str = "https://api.stripe.com"
    # Signs the embedded payment links; None: a random key per process (links die on restart).
    secret_key: str | None = attrs.field(default=None, repr=False)
    # Deadlines, seconds.
    model_setup_timeout_s: float = 5.0
    tool_timeout_s: float = 8.0
    silence_timeout_s: float = 12.0
    goodbye_timeout_s: float = 15.0
    interruption_timeout_s: float = 20.0
    max_call_duration_s: float = 1800.0
    transfer_timeout_s: float = 15.0
    stream_start_timeout_s: float = 10.0
    stream_token_ttl_s: float = 60.0
    # Bounds.
    inbound_buffer_frames: int = 250  # 5 s of caller audio while the model connects
    mark_interval_ms: int = 100  # audio between two Twilio marks: barge-in accuracy vs traffic
    max_model_reconnects: int = 1

    @property
    def stream_url(self) -> str:
        """The wss:// URL written into <Stream url>; signatures on the upgrade are over it."""
        parts = urlsplit(self.public_url)
        return f"wss://{parts.netloc}{parts.path.rstrip('/')}/twilio/media"

    def public(self, path: str) -> str:
        """Absolute public URL of ``path`` (what Twilio requests and signs)."""
        return self.public_url.rstrip("/") + path

    @property
    def twilio_rest_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)


_FLOAT_SETTINGS = {
    "HOTELVOICE_MODEL_SETUP_TIMEOUT": "model_setup_timeout_s",
    "HOTELVOICE_TOOL_TIMEOUT": "tool_timeout_s",
    "HOTELVOICE_SILENCE_TIMEOUT": "silence_timeout_s",
    "HOTELVOICE_GOODBYE_TIMEOUT": "goodbye_timeout_s",
    "HOTELVOICE_INTERRUPTION_TIMEOUT": "interruption_timeout_s",
    "HOTELVOICE_MAX_CALL_DURATION": "max_call_duration_s",
    "HOTELVOICE_TRANSFER_TIMEOUT": "transfer_timeout_s",
    "HOTELVOICE_STREAM_START_TIMEOUT": "stream_start_timeout_s",
    "HOTELVOICE_STREAM_TOKEN_TTL": "stream_token_ttl_s",
}
_INT_SETTINGS = {
    "HOTELVOICE_INBOUND_BUFFER_FRAMES": "inbound_buffer_frames",
    "HOTELVOICE_MARK_INTERVAL_MS": "mark_interval_ms",
    "HOTELVOICE_MAX_MODEL_RECONNECTS": "max_model_reconnects",
}
_STR_SETTINGS = {
    "PUBLIC_URL": "public_url",
    "TWILIO_ACCOUNT_SID": "twilio_account_sid",
    "TWILIO_AUTH_TOKEN": "twilio_auth_token",
    "TWILIO_API_BASE": "twilio_api_base",
    "OPENAI_API_KEY": "openai_api_key",
    "OPENAI_REALTIME_URL": "openai_realtime_url",
    "OPENAI_REALTIME_MODEL": "openai_model",
    "OPENAI_REALTIME_VOICE": "openai_voice",
    "HOTEL_NAME": "hotel_name",
    "HOTEL_LOCATION": "hotel_location",
    "HOTEL_CHECKIN_TIME": "hotel_checkin_time",
    "HOTEL_CHECKOUT_TIME": "hotel_checkout_time",
    "HOTEL_PET_POLICY": "hotel_pet_policy",
    "FRONT_DESK_PHONE": "front_desk_phone",
    "HOUSEKEEPING_PHONE": "housekeeping_phone",
    "MANAGEMENT_PHONE": "management_phone",
    "MAINTENANCE_PHONE": "maintenance_phone",
    "HOTEL_TIMEZONE": "hotel_timezone",
    "HOTELVOICE_DB": "db_path",
    "HOTELVOICE_PROPERTIES": "properties_file",
    "STRIPE_API_KEY": "stripe_api_key",
    "STRIPE_API_BASE": "stripe_api_base",
    "HOTELVOICE_SECRET_KEY": "secret_key",
}


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _parse_positive(name: str, raw: str, kind: type[float | int]) -> float | int:
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, not {raw!r}") from None
    if value < 0 or (kind is float and value == 0):
        raise ConfigError(f"{name} must be positive, not {raw!r}")
    return value


def _check_url(name: str, value: str, schemes: set[str]) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{name} must be a {'/'.join(sorted(schemes))} URL, not {value!r}")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"localhost", "127.0.0.1", "::1"} or host.startswith("127.")


def settings_from_env(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``) over the ``.env`` file.

    Raises:
        ConfigError: a variable has a malformed value.
    """
    merged: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        merged.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    merged.update(os.environ if environ is None else environ)

    values: dict[str, object] = {}
    for var, field in _STR_SETTINGS.items():
        raw = merged.get(var, "").strip()
        if raw:
            values[field] = raw
    for var, field in _FLOAT_SETTINGS.items():
        if merged.get(var, "").strip():
            values[field] = float(_parse_positive(var, merged[var], float))
    for var, field in _INT_SETTINGS.items():
        if merged.get(var, "").strip():
            values[field] = int(_parse_positive(var, merged[var], int))
    if merged.get("TWILIO_VALIDATE_SIGNATURES", "").strip():
        values["validate_signatures"] = _parse_bool(
            "TWILIO_VALIDATE_SIGNATURES", merged["TWILIO_VALIDATE_SIGNATURES"]
        )
    elif not values.get("twilio_auth_token") and _is_loopback(
        str(values.get("public_url", attrs.fields(Settings).public_url.default))
    ):
        # Local development on the embedded defaults: nothing from outside can reach a
        # loopback URL, and there is no token to check against. The app warns loudly.
        values["validate_signatures"] = False
    audio = merged.get("OPENAI_REALTIME_AUDIO", "").strip().lower()
    if audio:
        if audio not in {"pcmu", "pcm16"}:
            raise ConfigError(f"OPENAI_REALTIME_AUDIO must be pcmu or pcm16, not {audio!r}")
        values["openai_audio"] = audio

    settings = Settings(**values)  # type: ignore[arg-type]
    _check_url("PUBLIC_URL", settings.public_url, {"http", "https"})
    _check_url("TWILIO_API_BASE", settings.twilio_api_base, {"http", "https"})
    _check_url("OPENAI_REALTIME_URL", settings.openai_realtime_url, {"ws", "wss"})
    _check_url("STRIPE_API_BASE", settings.stripe_api_base, {"http", "https"})
    return settings
