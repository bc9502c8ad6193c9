"""The HTTP and WebSocket routes (QuartTrio), and the app factory.

Routes: ``POST /twilio/voice`` (incoming-call webhook → TwiML), ``WS /twilio/media`` (the
bidirectional Media Streams socket), ``POST /twilio/stream-status`` (stream status callback),
``GET /healthz`` and ``GET /metrics``. Every Twilio request is signature-checked by default.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import httpx
import trio
from quart import Response, request
from quart_trio import QuartTrio

from hotelvoice import __version__
from hotelvoice.calls.bridge import CallServices, LiveCalls, serve_media_stream
from hotelvoice.calls.ports import CallContext, ModelConnector, ToolRegistry
from hotelvoice.codec.transcode import prepare as prepare_transcoding
from hotelvoice.config import Settings
from hotelvoice.engine.connector import (
    FallbackConnector,
    LocalConnector,
    serve_engine_socket,
)
from hotelvoice.hotel.basic import BasicHotelTools, basic_instructions
from hotelvoice.hotel.service import HotelService
from hotelvoice.loopback import is_loopback
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook, load_property_book
from hotelvoice.realtime.connector import OpenAIConnector
from hotelvoice.telephony.rest import TwilioRest
from hotelvoice.telephony.signatures import SignatureValidator
from hotelvoice.telephony.tokens import StreamTokens
from hotelvoice.web.drain import Drain
from hotelvoice.wire import realtime as rt
from hotelvoice.wire.twiml import connect_stream_twiml

log = logging.getLogger(__name__)

FALLBACK_MESSAGE = (
    "We're sorry, our automated concierge is not available right now. "
    "Please hold while we connect you to the front desk."
)
REST_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def default_connector(
    settings: Settings, book: PropertyBook, metrics: Metrics | None = None
) -> ModelConnector:
    """The offline engine without ``OPENAI_API_KEY``; with it, OpenAI, falling back to the
    offline engine when OpenAI cannot be reached (its speech loads on the first fallback)."""
    local = LocalConnector(book, metrics=metrics, stt_model=settings.stt_model)
    if not settings.openai_api_key:
        return local
    openai = OpenAIConnector(
        url=settings.openai_realtime_url,
        model=settings.openai_model,
        api_key=settings.openai_api_key,
        # Half the setup deadline, so the offline engine still has time to answer.
        connect_timeout=settings.model_setup_timeout_s / 2,
    )
    return FallbackConnector(openai, local, metrics)


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
MEDIA_PATH = "/twilio/media"
ENGINE_PATH = "/v1/realtime"  # the offline engine for Realtime clients on this machine


class HotelvoiceApp:
    """The ASGI app: the media socket is served on ASGI directly, everything else by Quart.

    Quart's websocket layer adds a queue and a task switch to every message; at fifty frames
    a second per call in each direction that is a large share of the CPU per call.
    """

    def __init__(self, quart: QuartTrio, media: ASGIApp, engine: ASGIApp, drain: Drain) -> None:
        self.quart = quart
        self._media = media
        self._engine = engine
        self.drain = drain  # the server runs it on SIGTERM/SIGINT (web/server.py)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == MEDIA_PATH:
            await self._media(scope, receive, send)
        elif scope["type"] == "websocket" and scope["path"] == ENGINE_PATH:
            await self._engine(scope, receive, send)
        else:
            await self.quart(scope, receive, send)  # type: ignore[arg-type]


class MediaSocketClosed(Exception):
    """The media socket is closed (Twilio hung up, or we closed it)."""


class AsgiMediaSocket:
    """An accepted ASGI websocket as the call's :class:`MediaSocket`."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.closed = False

    async def receive(self) -> str | bytes:
        """Wait for the next message. Raises MediaSocketClosed once the peer has gone."""
        if self.closed:
            raise MediaSocketClosed("closed")
        message = await self._receive()
        if message["type"] == "websocket.receive":
            text = message.get("text")
            return text if text is not None else bytes(message.get("bytes") or b"")
        self.closed = True
        raise MediaSocketClosed(f"disconnected ({message.get('code')})")

    async def send(self, data: str) -> None:
        """Send one text message. Raises MediaSocketClosed once the socket is closed."""
        if self.closed:
            raise MediaSocketClosed("closed")
        await self._send({"type": "websocket.send", "text": data})

    async def close(self) -> None:
        """Close with 1000 (Hypercorn would say 1011 for a handler that just returns)."""
        if not self.closed:
            self.closed = True
            with trio.CancelScope(shield=True):
                await self._send({"type": "websocket.close", "code": 1000})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


@attrs.define
class _Runtime:
    """State that exists only while the app is serving (it needs a running Trio loop)."""

    http: httpx.AsyncClient | None = None
    services: CallServices | None = None
    hotel: HotelService | None = None


def create_app(
    settings: Settings,
    *,
    tools: ToolRegistry | None = None,
    connector: ModelConnector | str | None = "default",
    metrics: Metrics | None = None,
    hotel: bool = True,
) -> HotelvoiceApp:
    """Build the app. ``connector="default"`` picks the backend from the settings.

    With ``hotel`` (the default) and no ``tools``, the hotel service (store, properties,
    tools, call records) opens when serving starts; ``hotel=False`` keeps the two basic
    tools and no store.
    """
    app = QuartTrio(__name__)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 1
    metrics = metrics if metrics is not None else Metrics()
    validator = SignatureValidator(settings.twilio_auth_token, enabled=settings.validate_signatures)
    tokens = StreamTokens(ttl_s=settings.stream_token_ttl_s)
    book = load_property_book(settings)  # a mistake in the properties fails here, named
    model: ModelConnector | None = (
        default_connector(settings, book, metrics) if isinstance(connector, str) else connector
    )
    local_engine = model if isinstance(model, LocalConnector) else None
    if isinstance(model, FallbackConnector) and isinstance(model.fallback, LocalConnector):
        local_engine = model.fallback
    runtime = _Runtime()

    def front_desk(dialed: str | None) -> str | None:
        """The front desk of the property whose number was dialed, else FRONT_DESK_PHONE."""
        number = book.for_number(dialed).department_number("front_desk")[1]
        return number or settings.front_desk_phone

    live_calls = LiveCalls()
    drain = Drain(live_calls, settings, metrics, front_desk)

    def instructions(context: CallContext) -> str:
        if runtime.hotel is not None:
            return runtime.hotel.instructions(context)
        return basic_instructions(settings, context)

    @app.before_serving
    async def startup() -> None:
        if settings.openai_audio == "pcm16":
            await trio.to_thread.run_sync(prepare_transcoding, int(rt.PCM24K["rate"]))
        if isinstance(model, LocalConnector):
            # The engine is the backend: its speech loads now, not while the first caller
            # waits. As OpenAI's fallback it loads on the first fallback instead (about 1 s,
            # in a thread), so a server on OpenAI does not carry it unless it is needed.
            await model.load()
        rest = None
        runtime.http = httpx.AsyncClient(timeout=REST_TIMEOUT)
        if settings.twilio_rest_enabled:
            rest = TwilioRest(
                runtime.http,
                account_sid=settings.twilio_account_sid or "",
                auth_token=settings.twilio_auth_token or "",
                api_base=settings.twilio_api_base,
            )
        registry: ToolRegistry
        if tools is not None:
            registry = tools
        elif hotel:
            runtime.hotel = await HotelService.open(
                settings,
                book=book,
                http=runtime.http,
                rest=rest,
                nursery=app.nursery,
                metrics=metrics,
            )
            registry = runtime.hotel.concierge.registry
        else:
            registry = BasicHotelTools(settings)
        runtime.services = CallServices(
            settings=settings,
            metrics=metrics,
            tokens=tokens,
            tools=registry,
            connector=model,
            rest=rest,
            instructions=instructions,
            observers=runtime.hotel.records if runtime.hotel is not None else None,
            calls=live_calls,
            front_desk=lambda context: front_desk(context.dialed),
        )
        if not settings.validate_signatures:
            log.warning(
                "Twilio signatures are NOT checked (TWILIO_VALIDATE_SIGNATURES=false, or no "
                "TWILIO_AUTH_TOKEN with a loopback PUBLIC_URL): local development only"
            )
        elif not settings.twilio_auth_token:
            log.warning(
                "TWILIO_AUTH_TOKEN is not set: every Twilio request will be refused (403); "
                "set it, or TWILIO_VALIDATE_SIGNATURES=false for local development"
            )
        if model is None:
            log.warning("no model backend: calls go to the TwiML fallback")
        elif not settings.openai_api_key:
            log.info("OPENAI_API_KEY is not set: the offline engine answers calls")
        log.info(
            "hotelvoice %s ready: public URL %s, backend %s",
            __version__,
            settings.public_url,
            model.name if model else "none",
        )

    @app.after_serving
    async def shutdown() -> None:
        if runtime.hotel is not None:
            await runtime.hotel.aclose()
        if runtime.http is not None:
            await runtime.http.aclose()

    @app.get("/pay/<token>")
    async def payment_page(token: str) -> Any:
        if runtime.hotel is None:
            return Response("not found\n", status=404, content_type="text/plain")
        page = await runtime.hotel.payment_page(token)
        metrics.incr("hotelvoice_payment_page_views_total", status=str(page.status))
        return Response(page.body, status=page.status, content_type="text/html; charset=utf-8")

    @app.post("/twilio/voice")
    async def voice_webhook() -> Any:
        form = await request.form
        url = settings.public("/twilio/voice")
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        if not validator.check_webhook(url, form, request.headers.get("X-Twilio-Signature")):
            metrics.incr("hotelvoice_signature_failures_total", route="voice")
            metrics.incr("hotelvoice_webhooks_total", outcome="bad_signature")
            log.warning("voice webhook refused: bad or missing X-Twilio-Signature")
            return Response("invalid signature\n", status=403, content_type="text/plain")
        call_sid = form.get("CallSid", "")
        if not call_sid:
            metrics.incr("hotelvoice_webhooks_total", outcome="no_call_sid")
            return Response("CallSid is required\n", status=400, content_type="text/plain")
        if drain.draining:  # shutting down: the front desk takes new calls (web/drain.py)
            return Response(drain.webhook_twiml(form.get("To")), content_type="text/xml")
        token = tokens.mint(call_sid, trio.current_time())
        twiml = connect_stream_twiml(
            stream_url=settings.stream_url,
            parameters={
                "token": token,
                "CallSid": call_sid,
                "From": form.get("From", ""),
                "To": form.get("To", ""),
            },
            status_callback=settings.public("/twilio/stream-status"),
            fallback_message=FALLBACK_MESSAGE,
            front_desk=settings.front_desk_phone,
        )
        metrics.incr("hotelvoice_webhooks_total", outcome="stream")
        log.info("call %s: answering with a media stream", call_sid)
        return Response(twiml, content_type="text/xml")

    @app.post("/twilio/stream-status")
    async def stream_status() -> Any:
        form = await request.form
        url = settings.public("/twilio/stream-status")
        if not validator.check_webhook(url, form, request.headers.get("X-Twilio-Signature")):
            metrics.incr("hotelvoice_signature_failures_total", route="stream_status")
            return Response("invalid signature\n", status=403, content_type="text/plain")
        event = form.get("StreamEvent", "")
        if event == "stream-error":
            log.warning(
                "call %s: Twilio stream error: %s", form.get("CallSid"), form.get("StreamError")
            )
        else:
            log.info("call %s: stream status %s", form.get("CallSid"), event)
        return Response("", status=204)

    async def media_stream(scope: Scope, receive: Receive, send: Send) -> None:
        """``WS /twilio/media``, served on ASGI directly (see :class:`HotelvoiceApp`)."""
        if (await receive())["type"] != "websocket.connect":
            return
        signature = _header(scope, b"x-twilio-signature")
        if not validator.check_websocket(settings.stream_url, signature):
            metrics.incr("hotelvoice_signature_failures_total", route="media")
            log.warning("media stream refused: bad or missing X-Twilio-Signature")
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        services = runtime.services
        if services is None:  # not serving yet (lifespan not run)
            await send({"type": "websocket.close", "code": 1013})
            return
        await send({"type": "websocket.accept"})
        socket = AsgiMediaSocket(receive, send)
        try:
            await serve_media_stream(socket, services)
        finally:
            await socket.close()

    @app.after_request
    async def close_while_draining(response: Response) -> Response:
        if drain.draining:  # no keep-alive to a server about to stop (Hypercorn waits for it)
            response.headers["Connection"] = "close"
        return response

    @app.get("/healthz")
    async def healthz() -> Any:
        health = {
            "status": "ok",
            "version": __version__,
            "backend": model.name if model else "none",
            "calls_active": metrics.get("hotelvoice_calls_active"),
        }
        if drain.draining:  # load balancers stop sending calls here
            return {**health, **drain.health()}, 503
        return health

    @app.get("/metrics")
    async def metrics_route() -> Any:
        return Response(metrics.render(), content_type="text/plain; version=0.0.4")

    async def engine_socket(scope: Scope, receive: Receive, send: Send) -> None:
        """``WS /v1/realtime``: the offline engine for Realtime clients (loopback only)."""
        if (await receive())["type"] != "websocket.connect":
            return
        client = scope.get("client") or ("", 0)
        if local_engine is None or not is_loopback(client[0]):
            metrics.incr("hotelvoice_engine_sockets_total", outcome="refused")
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        metrics.incr("hotelvoice_engine_sockets_total", outcome="accepted")
        await serve_engine_socket(local_engine, AsgiMediaSocket(receive, send))

    return HotelvoiceApp(app, media_stream, engine_socket, drain)
