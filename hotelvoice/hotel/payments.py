"""Payment links: Stripe Payment Links when a key is set, else hotelvoice's own signed links.

Both return a :class:`CreatedLink`; the hotel tools record it in the store and text it to the
guest. The embedded link is ``PUBLIC_URL/pay/{token}``: the token carries its expiry and an
HMAC-SHA256 over it, so a forged or altered link is refused before the store is consulted, and
an expired one says so. Stripe is reached with plain form POSTs through httpx (its SDK is
synchronous); the secret key stays inside the request headers and is never logged.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from typing import Protocol

import attrs
import httpx

log = logging.getLogger(__name__)

# Our tokens are about 50 characters (nonce, expiry, MAC); anything much longer is not one.
MAX_TOKEN_CHARS = 200


class PaymentError(Exception):
    """A payment link could not be made; the message is safe to log (no secrets)."""


@attrs.frozen
class CreatedLink:
    token: str  # what the store keys the link by
    url: str
    provider: str  # "local" or "stripe"
    provider_id: str | None
    expires_at: dt.datetime


class PaymentLinks(Protocol):
    async def create(
        self,
        *,
        amount_cents: int,
        currency: str,
        description: str,
        metadata: Mapping[str, str],
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> CreatedLink:
        """Make a link for ``amount_cents``. Raises PaymentError."""
        ...


class LocalPaymentLinks:
    """Links served by hotelvoice itself (``GET /pay/{token}``), signed with ``secret``."""

    provider = "local"

    def __init__(self, secret: bytes, public_url: str) -> None:
        if len(secret) < 16:
            raise ValueError("the payment link secret must be at least 16 bytes")
        self._secret = secret
        self._base = public_url.rstrip("/") + "/pay/"

    def __repr__(self) -> str:
        return f"LocalPaymentLinks(base={self._base!r})"

    async def create(
        self,
        *,
        amount_cents: int,
        currency: str,
        description: str,
        metadata: Mapping[str, str],
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> CreatedLink:
        """A new signed token; nothing to wait for. Raises PaymentError for a bad amount."""
        if amount_cents <= 0:
            raise PaymentError("the amount must be positive")
        token = self.sign(secrets.token_urlsafe(12), expires_at)
        return CreatedLink(token, self._base + token, self.provider, None, expires_at)

    def sign(self, nonce: str, expires_at: dt.datetime) -> str:
        body = f"{nonce}.{int(expires_at.timestamp())}"
        return f"{body}.{self._mac(body)}"

    def check(self, token: str, now: dt.datetime) -> str | None:
        """None if ``token`` is genuine and unexpired, else why not ("forged", "expired").

        Anything from a URL may arrive: a token that is not short ASCII is forged (the MAC
        is over ASCII, and a huge digit string would not even convert to an int).
        """
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            return "forged"
        nonce, _, rest = token.partition(".")
        expiry, _, mac = rest.partition(".")
        if not (nonce and expiry.isdigit() and mac):
            return "forged"
        if not hmac.compare_digest(mac, self._mac(f"{nonce}.{expiry}")):
            return "forged"
        if now.timestamp() >= int(expiry):
            return "expired"
        return None

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


class StripePaymentLinks:
    """Stripe Payment Links: a one-off Price for the stay, then a Payment Link for it."""

    provider = "stripe"

    def __init__(
        self, client: httpx.AsyncClient, api_key: str, api_base: str = "https://api.stripe.com"
    ) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._base = api_base.rstrip("/")

    def __repr__(self) -> str:
        return f"StripePaymentLinks(api_base={self._base!r})"

    async def create(
        self,
        *,
        amount_cents: int,
        currency: str,
        description: str,
        metadata: Mapping[str, str],
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> CreatedLink:
        """Waits for Stripe's two responses. Raises PaymentError on any failure."""
        if amount_cents <= 0:
            raise PaymentError("the amount must be positive")
        price = await self._post(
            "/v1/prices",
            {
                "currency": currency.lower(),
                "unit_amount": str(amount_cents),
                "product_data[name]": description[:250],
            },
        )
        form = {"line_items[0][price]": str(price["id"]), "line_items[0][quantity]": "1"}
        form.update({f"metadata[{key}]": value for key, value in metadata.items()})
        link = await self._post("/v1/payment_links", form)
        url, link_id = link.get("url"), link.get("id")
        if not isinstance(url, str) or not isinstance(link_id, str):
            raise PaymentError("Stripe answered without a payment link URL")
        return CreatedLink(
            token=link_id,
            url=url,
            provider=self.provider,
            provider_id=link_id,
            expires_at=expires_at,
        )

    async def _post(self, path: str, form: Mapping[str, str]) -> dict[str, object]:
        try:
            response = await self._client.post(
                self._base + path, data=dict(form), headers=self._headers
            )
        except httpx.HTTPError as exc:
            raise PaymentError(f"Stripe {path} failed: {type(exc).__name__}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.is_success or not isinstance(body, dict):
            detail = ""
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                detail = f": {body['error'].get('message', '')}"
            raise PaymentError(f"Stripe {path} failed: HTTP {response.status_code}{detail}")
        return body
