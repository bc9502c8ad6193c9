"""Payment links: the embedded signed links, and Stripe's API through a fake on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from hotelvoice.hotel.payments import LocalPaymentLinks, PaymentError, StripePaymentLinks
from tests.fakes.stripe import FakeStripe, start_fake_stripe

NOW = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=30)
KEY = "sk_test_" + "x" * 24


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
async def stripe(nursery: trio.Nursery) -> FakeStripe:
    return await start_fake_stripe(nursery, api_key=KEY)


async def local_link() -> tuple[LocalPaymentLinks, str]:
    links = LocalPaymentLinks(b"k" * 32, "https://hotel.example.com/")
    created = await links.create(
        amount_cents=56700,
        currency="USD",
        description="3 nights",
        metadata={},
        now=NOW,
        expires_at=LATER,
    )
    assert created.url == f"https://hotel.example.com/pay/{created.token}"
    assert created.provider == "local"
    return links, created.token


async def test_local_link_is_genuine_until_it_expires() -> None:
    links, token = await local_link()
    assert links.check(token, NOW) is None
    assert links.check(token, LATER - dt.timedelta(seconds=1)) is None
    assert links.check(token, LATER) == "expired"


async def test_altered_or_foreign_tokens_are_forged() -> None:
    links, token = await local_link()
    nonce, expiry, mac = token.split(".")
    assert links.check(f"{nonce}.{int(expiry) + 3600}.{mac}", NOW) == "forged"
    assert links.check(f"x{nonce}.{expiry}.{mac}", NOW) == "forged"
    assert links.check("nonsense", NOW) == "forged"
    other = LocalPaymentLinks(b"z" * 32, "https://hotel.example.com")
    assert other.check(token, NOW) == "forged"


async def test_local_links_refuse_a_short_secret_and_a_zero_amount() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        LocalPaymentLinks(b"short", "https://h")
    links = LocalPaymentLinks(b"k" * 32, "https://h")
    with pytest.raises(PaymentError, match="positive"):
        await links.create(
            amount_cents=0, currency="USD", description="", metadata={}, now=NOW, expires_at=LATER
        )


async def test_stripe_link_is_a_price_then_a_payment_link(
    stripe: FakeStripe, http: httpx.AsyncClient
) -> None:
    links = StripePaymentLinks(http, KEY, stripe.base_url)
    created = await links.create(
        amount_cents=56700,
        currency="USD",
        description="Sunset Inn, King Room, 3 nights",
        metadata={"hold_id": "hold_1", "property": "sunset-inn"},
        now=NOW,
        expires_at=LATER,
    )
    assert [path for path, _, _ in stripe.requests] == ["/v1/prices", "/v1/payment_links"]
    assert all(ok for _, _, ok in stripe.requests)
    (price,) = stripe.prices.values()
    assert price["unit_amount"] == 56700
    assert price["currency"] == "usd"
    link = stripe.links[created.provider_id or ""]
    assert created.url == link["url"]
    assert link["metadata"] == {"hold_id": "hold_1", "property": "sunset-inn"}
    assert created.provider == "stripe"


async def test_stripe_errors_become_payment_errors_without_the_key(
    stripe: FakeStripe, http: httpx.AsyncClient
) -> None:
    wrong = StripePaymentLinks(http, "sk_test_wrong", stripe.base_url)
    with pytest.raises(PaymentError, match="HTTP 401") as caught:
        await wrong.create(
            amount_cents=100,
            currency="USD",
            description="x",
            metadata={},
            now=NOW,
            expires_at=LATER,
        )
    assert "sk_test" not in str(caught.value)
    stripe.fail_with = 500
    right = StripePaymentLinks(http, KEY, stripe.base_url)
    with pytest.raises(PaymentError, match="HTTP 500"):
        await right.create(
            amount_cents=100,
            currency="USD",
            description="x",
            metadata={},
            now=NOW,
            expires_at=LATER,
        )
    assert KEY not in repr(right)


async def test_stripe_unreachable_is_a_payment_error(http: httpx.AsyncClient) -> None:
    links = StripePaymentLinks(http, KEY, "http://127.0.0.1:9")
    with pytest.raises(PaymentError, match="failed"):
        await links.create(
            amount_cents=100,
            currency="USD",
            description="x",
            metadata={},
            now=NOW,
            expires_at=LATER,
        )
