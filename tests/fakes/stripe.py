"""A fake Stripe API on loopback: ``POST /v1/prices`` and ``POST /v1/payment_links``.

Form-encoded requests with Bearer auth, Stripe-shaped objects and errors
(``{"error": {"type", "message", "param"}}``), checked the way Stripe documents them: a price
needs ``currency``, a positive integer ``unit_amount`` and ``product`` or ``product_data[name]``;
a payment link needs ``line_items[i][price]`` naming a known price and a positive
``line_items[i][quantity]``. Every request is recorded.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import trio
from quart import Response, jsonify, request
from quart_trio import QuartTrio

from tests.fakes.serving import serve_on_loopback

CURRENCY = re.compile(r"^[a-z]{3}$")


@attrs.define(eq=False)
class FakeStripe:
    api_key: str
    base_url: str = ""
    requests: list[tuple[str, dict[str, str], bool]] = attrs.field(factory=list)
    prices: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    links: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    fail_with: int | None = None
    stall: bool = False  # take requests and never answer them (Stripe not answering)

    def build_app(self) -> QuartTrio:
        app = QuartTrio(__name__)

        async def authorised() -> tuple[dict[str, str], bool]:
            form = (await request.form).to_dict()
            ok = request.headers.get("Authorization") == f"Bearer {self.api_key}"
            self.requests.append((request.path, form, ok))
            if self.stall:
                await trio.sleep_forever()
            return form, ok

        @app.post("/v1/prices")
        async def create_price() -> tuple[Response, int]:
            form, ok = await authorised()
            if not ok:
                return _error(401, "authentication_error", "Invalid API Key provided.")
            if self.fail_with is not None:
                return _error(self.fail_with, "api_error", "Something went wrong.")
            if not CURRENCY.match(form.get("currency", "")):
                return _error(400, "invalid_request_error", "Invalid currency.", "currency")
            amount = form.get("unit_amount", "")
            if not amount.isdigit() or int(amount) <= 0:
                return _error(400, "invalid_request_error", "Invalid integer.", "unit_amount")
            if not form.get("product") and not form.get("product_data[name]"):
                return _error(400, "invalid_request_error", "Missing product.", "product_data")
            price_id = f"price_{len(self.prices) + 1:08d}"
            price = {
                "id": price_id,
                "object": "price",
                "currency": form["currency"],
                "unit_amount": int(amount),
                "product": f"prod_{len(self.prices) + 1:08d}",
                "active": True,
                "type": "one_time",
            }
            self.prices[price_id] = price
            return jsonify(price), 200

        @app.post("/v1/payment_links")
        async def create_link() -> tuple[Response, int]:
            form, ok = await authorised()
            if not ok:
                return _error(401, "authentication_error", "Invalid API Key provided.")
            price_id = form.get("line_items[0][price]", "")
            if price_id not in self.prices:
                return _error(
                    400, "invalid_request_error", f"No such price: '{price_id}'", "line_items"
                )
            quantity = form.get("line_items[0][quantity]", "")
            if not quantity.isdigit() or int(quantity) <= 0:
                return _error(400, "invalid_request_error", "Invalid quantity.", "line_items")
            link_id = f"plink_{len(self.links) + 1:08d}"
            metadata = {
                key[len("metadata[") : -1]: value
                for key, value in form.items()
                if key.startswith("metadata[") and key.endswith("]")
            }
            link = {
                "id": link_id,
                "object": "payment_link",
                "active": True,
                "url": f"https://buy.stripe.com/test_{link_id}",
                "metadata": metadata,
                "line_items": {"data": [{"price": price_id, "quantity": int(quantity)}]},
            }
            self.links[link_id] = link
            return jsonify(link), 200

        return app


def _error(status: int, kind: str, message: str, param: str | None = None) -> tuple[Response, int]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if param is not None:
        error["param"] = param
    return jsonify({"error": error}), status


async def start_fake_stripe(nursery: trio.Nursery, *, api_key: str) -> FakeStripe:
    """Serve the fake on 127.0.0.1 (ephemeral port) in ``nursery``; waits until listening."""
    fake = FakeStripe(api_key=api_key)
    fake.base_url = await serve_on_loopback(nursery, fake.build_app())
    return fake
