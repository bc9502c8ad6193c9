"""Graceful shutdown: on SIGTERM or SIGINT the server drains its calls before it stops.

1. At once, ``GET /healthz`` answers 503 ``draining`` (load balancers stop sending calls here)
   and a new voice webhook is answered with TwiML that dials the property's front desk.
2. Live calls go on, up to ``HOTELVOICE_DRAIN_TIMEOUT`` after the signal.
3. Each call still up is then handed over (``CallSession.hand_over``): the concierge says "I'm
   sorry, I have to pass you to a colleague now" and the REST transfer puts the caller through
   to the front desk, within the call machine's own transfer deadlines.
4. A call still up after :func:`hand_over_limit` is ended; closing its media socket lets
   Twilio's TwiML tail dial the front desk.
5. :meth:`Drain.run` returns once every call's record is saved, so Hypercorn, which stops
   listening only then, finds no call left, and the app's ``after_serving`` closes the store
   after the last record.

A second signal during the drain skips to the end: every call is ended at once and its record
saved (bounded by :data:`RECORDS_LIMIT_S`). The process exits 0 either way.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from hotelvoice.calls.bridge import OBSERVER_FINISH_TIMEOUT_S, LiveCalls
from hotelvoice.config import Settings
from hotelvoice.metrics import Metrics
from hotelvoice.wire.twiml import front_desk_twiml

log = logging.getLogger(__name__)

# What a caller hears when they ring a draining server.
DRAINING_DIAL_MESSAGE = "Please hold while we connect you to the front desk."
DRAINING_NO_DESK_MESSAGE = (
    "We're sorry, we cannot take your call at the moment. Please call again in a few minutes."
)
# Saving the records of calls ended at once: the observer's own bound, and a little slack.
RECORDS_LIMIT_S = OBSERVER_FINISH_TIMEOUT_S + 1.0
# Hypercorn's graceful_timeout (web/server.py): what is still open after the drain.
HYPERCORN_GRACE_S = 5.0


def hand_over_limit(settings: Settings) -> float:
    """The longest a hand-over takes: the apology, the REST transfer and Twilio's stop, each
    bounded by the transfer deadline (or a goodbye and the hang-up), then the record."""
    transfer = settings.transfer_timeout_s
    ending = max(3 * transfer, settings.goodbye_timeout_s + transfer)
    return ending + RECORDS_LIMIT_S


def stop_budget(settings: Settings) -> float:
    """The longest a stop takes, signal to exit: what a supervisor must allow (systemd's
    ``TimeoutStopSec``, Kubernetes' ``terminationGracePeriodSeconds``)."""
    return (
        settings.drain_timeout_s + hand_over_limit(settings) + RECORDS_LIMIT_S + HYPERCORN_GRACE_S
    )


class DrainPhase(enum.StrEnum):
    SERVING = "serving"
    DRAINING = "draining"  # live calls go on; new ones go to the front desk
    HANDING_OVER = "handing_over"  # the drain timeout passed: calls are put through
    ENDING = "ending"  # what is left is ended, its records saved
    STOPPED = "stopped"  # drained: Hypercorn stops listening


@attrs.define(eq=False)
class Drain:
    """The server's shutdown, shared by the routes (``draining``) and the server (``run``).

    ``front_desk`` names the front desk of the property whose number was dialed (None: none).
    """

    calls: LiveCalls
    settings: Settings
    metrics: Metrics
    front_desk: Callable[[str | None], str | None]
    phase: DrainPhase = DrainPhase.SERVING
    began_at: float | None = None
    hurried: bool = False

    @property
    def draining(self) -> bool:
        """No new calls here: from the signal until the process exits."""
        return self.phase is not DrainPhase.SERVING

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` adds while draining."""
        answer: dict[str, Any] = {"status": "draining", "phase": str(self.phase)}
        if self.began_at is not None and self.phase is DrainPhase.DRAINING:
            left = self.began_at + self.settings.drain_timeout_s - trio.current_time()
            answer["hand_over_in_s"] = round(max(0.0, left), 1)
        return answer

    def webhook_twiml(self, dialed: str | None) -> str:
        """The answer to a voice webhook while draining: the property's front desk, dialed
        with the caller's own number shown; with no front desk, an apology and the hang-up."""
        number = self.front_desk(dialed)
        self.metrics.incr("hotelvoice_webhooks_total", outcome="draining")
        message = DRAINING_DIAL_MESSAGE if number else DRAINING_NO_DESK_MESSAGE
        return front_desk_twiml(message, number)

    def begin(self) -> None:
        """Stop taking calls: from now on ``/healthz`` says 503 and webhooks dial the desk."""
        if self.draining:
            return
        self.phase = DrainPhase.DRAINING
        self.began_at = trio.current_time()
        log.warning(
            "shutting down: draining %d call(s); they go on for up to %.0f s, then are handed "
            "to the front desk; stopped within %.0f s",
            len(self.calls),
            self.settings.drain_timeout_s,
            stop_budget(self.settings),
        )

    async def run(self, *, hurry: Callable[[], Awaitable[object]]) -> None:
        """Drain: wait for the live calls to end, up to the drain timeout; hand the rest to
        the front desk; end what is left. Returns once every call's record is saved (or its
        bound has passed). ``hurry`` returns when the drain must end at once (a second
        signal): the calls are then ended straight away."""
        self.begin()
        assert self.began_at is not None
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                await hurry()
                self.hurried = True
                log.warning("second signal: ending %d call(s) now", len(self.calls))
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            await self._wait_then_hand_over()
            nursery.cancel_scope.cancel()
        if self.calls:
            self.phase = DrainPhase.ENDING
            detail = "second signal" if self.hurried else "hand-over did not finish in time"
            self.calls.end_all(detail)
            with trio.move_on_after(RECORDS_LIMIT_S):
                await self.calls.wait_empty()
        if self.calls:
            log.error(
                "%d call(s) still open at exit: their records may be incomplete", len(self.calls)
            )
        self.phase = DrainPhase.STOPPED
        log.info("drained in %.1f s", trio.current_time() - self.began_at)

    async def _wait_then_hand_over(self) -> None:
        with trio.move_on_after(self.settings.drain_timeout_s):
            await self.calls.wait_empty()
        if not self.calls:
            return
        self.phase = DrainPhase.HANDING_OVER
        asked = self.calls.hand_over_all()
        log.warning("drain timeout: handing %d call(s) to the front desk", asked)
        with trio.move_on_after(hand_over_limit(self.settings)):
            await self.calls.wait_empty()
