"""Checks of Twilio's ``X-Twilio-Signature`` on webhooks and on the Media Streams upgrade."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from twilio.request_validator import RequestValidator

__all__ = ["SignatureValidator"]

logger = logging.getLogger(__name__)


class SignatureValidator:
    """Validates request signatures with the account's Auth Token (HMAC-SHA1, Twilio's scheme).

    ``enabled=False`` accepts everything (local development only). When enabled without an
    auth token every check fails: a missing secret must never mean "let everyone in".
    """

    def __init__(self, auth_token: str | None, *, enabled: bool = True) -> None:
        self._enabled = enabled
        self._validator = RequestValidator(auth_token) if auth_token else None
        if enabled and self._validator is None:
            logger.warning(
                "Twilio signature checks are enabled but no auth token is configured: "
                "every Twilio request will be rejected"
            )

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def refuses_all(self) -> bool:
        """Enabled with no auth token: every check fails, so a request need not be read."""
        return self._enabled and self._validator is None

    def check_webhook(
        self, url: str, params: Mapping[str, str] | Any, signature: str | None
    ) -> bool:
        """Whether ``signature`` signs this webhook.

        ``url`` is the exact public URL Twilio requested (with its query string); ``params``
        holds every form field received (a dict or a werkzeug MultiDict such as Quart's
        ``await request.form``): Twilio adds fields over time, so none may be filtered out.
        """
        if not self._enabled:
            return True
        if self._validator is None or not signature:
            return False
        valid: bool = self._validator.validate(url, params, signature)
        return valid

    def check_websocket(self, url: str, signature: str | None) -> bool:
        """Whether ``signature`` signs the Media Streams WebSocket upgrade.

        ``url`` is the ``wss://`` URL exactly as written in ``<Stream url>``; Twilio signs it
        with no parameters. Per Twilio's guidance it is also tried with a trailing ``/``.
        """
        if not self._enabled:
            return True
        if self._validator is None or not signature:
            return False
        candidates = (url,) if url.endswith("/") else (url, url + "/")
        return any(self._validator.validate(candidate, {}, signature) for candidate in candidates)
