"""The hotel side of a running service, assembled from the settings at start.

Loads the properties (a TOML file or the single ``HOTEL_*`` property), opens and migrates the
store, seeds each property's inventory from its own today, picks the payment links (Stripe
with ``STRIPE_API_KEY``, else hotelvoice's own signed links) and builds the tools and the call
records the bridge uses. Also renders the embedded payment page (``GET /pay/{token}``).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import secrets
from collections.abc import Callable

import attrs
import httpx
import trio

from hotelvoice.calls.ports import CallContext
from hotelvoice.clock import utc_now
from hotelvoice.config import Settings
from hotelvoice.hotel.concierge import Concierge
from hotelvoice.hotel.conversation import property_instructions
from hotelvoice.hotel.payments import LocalPaymentLinks, PaymentLinks, StripePaymentLinks
from hotelvoice.hotel.records import CallRecords, RecordWriter
from hotelvoice.hotel.store import AsyncStore, Store
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook, load_property_book
from hotelvoice.telephony.rest import TwilioRest

log = logging.getLogger(__name__)

# The registry's own deadline sits inside the bridge's, so its clearer message wins.
TOOL_DEADLINE_MARGIN_S = 1.0
INTERRUPTED = "interrupted by restart"


@attrs.frozen
class PaymentPage:
    status: int
    body: str


def prepare_store(
    settings: Settings, book: PropertyBook, metrics: Metrics, now: dt.datetime
) -> None:
    """What is done once per deployment before several workers start (``serve --workers``):
    migrate the store, seed each property, close the calls a crash left open (no worker has
    taken a call yet). Blocks; raises StoreError for an unusable database."""
    with Store.open(settings.db_path) as store:
        for prop in book.properties:
            store.seed_property(prop, prop.today(now))
        _count_interrupted(metrics, store.close_interrupted_calls(reason=INTERRUPTED, now=now))


def _count_interrupted(metrics: Metrics, interrupted: tuple[str, ...]) -> None:
    if interrupted:
        metrics.incr("hotelvoice_calls_interrupted_total", len(interrupted))
        log.warning(
            "%d call record%s left open by an earlier process closed as %r",
            len(interrupted),
            "" if len(interrupted) == 1 else "s",
            INTERRUPTED,
        )


class HotelService:
    """Everything hotel-specific the app needs while it serves."""

    def __init__(
        self,
        *,
        book: PropertyBook,
        store: AsyncStore,
        concierge: Concierge,
        records: CallRecords,
        local_links: LocalPaymentLinks | None,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.book = book
        self.store = store
        self.concierge = concierge
        self.records = records
        self.writer = records.writer
        self.local_links = local_links
        self.clock = clock

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        book: PropertyBook | None = None,
        http: httpx.AsyncClient,
        rest: TwilioRest | None,
        nursery: trio.Nursery,
        metrics: Metrics | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        prepared: bool = False,
    ) -> HotelService:
        """Waits for the property file, the store's migration and the seeding (in threads),
        closes the calls a crash left open, and starts the call-record writer in ``nursery``
        (:meth:`aclose` stops it). With ``prepared`` (a worker of several) the seeding and the
        closing were done once, before the workers started (:func:`prepare_store`).

        Raises ConfigError for a bad property file, StoreError for an unusable database.
        """
        metrics = metrics if metrics is not None else Metrics()
        if book is None:
            book = await trio.to_thread.run_sync(load_property_book, settings)
        store = await AsyncStore.open(settings.db_path)
        now = clock()
        if not prepared:
            for prop in book.properties:
                await store.seed_property(prop, prop.today(now))
            # A call still open now was cut by a crash (this process has taken no call yet).
            # This assumes one hotelvoice instance per database: another's live calls would be
            # closed (several workers: the parent does it before they start).
            interrupted = await store.close_interrupted_calls(reason=INTERRUPTED, now=now)
            _count_interrupted(metrics, interrupted)
        writer = RecordWriter(store, metrics)
        await nursery.start(writer.run)
        local_links: LocalPaymentLinks | None = None
        payments: PaymentLinks
        if settings.stripe_api_key:
            payments = StripePaymentLinks(http, settings.stripe_api_key, settings.stripe_api_base)
        else:
            secret = settings.secret_key.encode() if settings.secret_key else None
            if secret is None or len(secret) < 16:
                if secret is not None:
                    log.warning("HOTELVOICE_SECRET_KEY is under 16 bytes; using a random key")
                # Links then stop working when the process restarts (they are in the store).
                secret = secrets.token_bytes(32)
            local_links = payments = LocalPaymentLinks(secret, settings.public_url)
        timeout = max(settings.tool_timeout_s - TOOL_DEADLINE_MARGIN_S, settings.tool_timeout_s / 2)
        concierge = Concierge(
            book=book, store=store, payments=payments, rest=rest, timeout_s=timeout, clock=clock
        )
        records = CallRecords(book, store, writer, clock=clock)
        log.info(
            "hotel: %d propert%s (%s), store %s, payment links via %s",
            len(book.properties),
            "y" if len(book.properties) == 1 else "ies",
            ", ".join(prop.id for prop in book.properties),
            settings.db_path,
            "Stripe" if settings.stripe_api_key else "hotelvoice",
        )
        return cls(
            book=book,
            store=store,
            concierge=concierge,
            records=records,
            local_links=local_links,
            clock=clock,
        )

    async def aclose(self) -> None:
        """Waits for the record writer to empty its queue (bounded), then closes the store."""
        try:
            await self.writer.aclose()
        finally:
            await self.store.aclose()

    def instructions(self, context: CallContext) -> str:
        """Instructions when no call record could be started (the store is down)."""
        return property_instructions(self.book.for_number(context.dialed), self.clock())

    async def payment_page(self, token: str) -> PaymentPage:
        """The page behind an embedded payment link. Waits on the store."""
        if self.local_links is None:
            return PaymentPage(404, _page("Not found", "Payments are handled by Stripe."))
        problem = self.local_links.check(token, self.clock())
        link = await self.store.payment_link(token) if problem != "forged" else None
        if link is None:
            return PaymentPage(404, _page("Link not found", "This payment link is not valid."))
        prop = self.book.by_id(link.property_id)
        if problem == "expired":
            return PaymentPage(
                410,
                _page(
                    "Link expired",
                    f"This link to pay {prop.money(link.amount_cents)} has expired. Please "
                    f"call {prop.name} again and we will send a new one.",
                ),
            )
        hold = await self.store.get_hold(link.hold_id) if link.hold_id else None
        details = f"{link.description}."
        if hold is not None:
            party = f"{hold.adults} adult{'s' if hold.adults != 1 else ''}"
            if hold.children:
                party += f", {hold.children} child{'ren' if hold.children != 1 else ''}"
            details = (
                f"{hold.guest_name}: {hold.room_type}, {hold.check_in:%A %B} {hold.check_in.day}"
                f" to {hold.check_out:%A %B} {hold.check_out.day}, {party}."
            )
        expires = link.expires_at.astimezone(prop.zone)
        return PaymentPage(
            200,
            _page(
                f"Pay {prop.money(link.amount_cents)} to {prop.name}",
                f"{details} Reference {link.hold_id or link.token}. This link expires at "
                f"{expires:%H:%M} ({prop.timezone}) on {expires:%B} {expires.day}.",
            ),
        )


def _page(title: str, text: str) -> str:
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></html>"
    )
