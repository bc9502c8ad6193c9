"""CallSession in pcm16 mode: both legs transcoded with per-call state, ledger in model bytes."""

from __future__ import annotations

import base64
import json

import numpy as np

from hotelvoice.calls.session import Action, ToTwilio
from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.codec.resample import StreamResampler
from hotelvoice.wire import realtime as rt
from hotelvoice.wire import twilio as tw
from tests.calls.test_session import (
    SID,
    delta,
    make,
    marks,
    media,
    model_texts,
    ready,
    speak,
    twilio_texts,
)


def sine(freq: float, rate: int, n: int, amplitude: float = 8000.0) -> np.ndarray:
    return np.rint(amplitude * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.int16)


def pcm_bytes(samples: np.ndarray) -> bytes:
    return samples.astype("<i2").tobytes()


def twilio_audio(actions: list[Action]) -> bytes:
    return b"".join(
        base64.b64decode(m["media"]["payload"])
        for m in twilio_texts(actions)
        if m["event"] == "media"
    )


def test_inbound_frames_become_24khz_pcm_continuously() -> None:
    session = make(openai_audio="pcm16")
    caller = sine(700, 8000, 1600)
    ulaw = ulaw_encode(caller)
    session.on_twilio(media(ulaw[:160]))  # buffered while connecting, converted on flush
    appends = model_texts(ready(session))[1:]
    for start in range(160, 1600, 160):
        appends += model_texts(session.on_twilio(media(ulaw[start : start + 160])))
    received = b"".join(base64.b64decode(e["audio"]) for e in appends)
    assert {len(base64.b64decode(e["audio"])) for e in appends} == {960}  # 20 ms each
    # Exactly what one resampler fed the whole decoded signal would give: no seams per frame.
    expected = StreamResampler(8000, 24000).process(ulaw_decode(ulaw))
    assert np.array_equal(np.frombuffer(received, "<i2"), expected)


def test_outbound_pcm_becomes_ulaw_frames_with_marks_per_100ms_and_a_tail() -> None:
    session = make(openai_audio="pcm16")
    ready(session)
    assert session.ledger.bytes_per_ms == 48
    voice = sine(440, 24000, 7200)  # 300 ms
    data = pcm_bytes(voice)
    actions = speak(session, data[:960])
    for start in range(960, len(data), 960):
        actions += session.on_model(delta(data[start : start + 960]))
    media_sizes = [
        len(base64.b64decode(m["media"]["payload"]))
        for m in twilio_texts(actions)
        if m["event"] == "media"
    ]
    assert media_sizes == [160] * 15  # 20 ms in, 20 ms out: no bursts, nothing held back
    assert len(marks(actions)) == 3
    done = session.on_model(rt.AudioDone("resp_1", "item_1"))
    tail = twilio_audio(done)
    assert len(tail) == 24  # the resampler's 3 ms tail ends the item
    heard = ulaw_decode(twilio_audio(actions) + tail)
    expected = StreamResampler(24000, 8000)
    want = np.concatenate([expected.process(voice), expected.flush()])
    assert np.abs(heard.astype(np.int32) - ulaw_decode(ulaw_encode(want))).max() == 0
    assert session.ledger.sent_ms("item_1") == 303


def test_odd_sized_deltas_split_mid_sample_are_reassembled() -> None:
    session = make(openai_audio="pcm16")
    ready(session)
    voice = pcm_bytes(sine(1000, 24000, 4800))
    actions = speak(session, voice[:333])
    for start in range(333, len(voice), 333):
        actions += session.on_model(delta(voice[start : start + 333]))
    actions += session.on_model(rt.AudioDone("resp_1", "item_1"))
    out = twilio_audio(actions)
    assert len(out) == 1600 + 24
    reference = StreamResampler(24000, 8000)
    samples = np.frombuffer(voice, "<i2").astype(np.int16)
    want = np.concatenate([reference.process(samples), reference.flush()])
    assert out == ulaw_encode(want)


def test_barge_in_truncates_at_heard_ms_less_the_resampler_lag() -> None:
    session = make(openai_audio="pcm16")
    ready(session)
    voice = pcm_bytes(sine(300, 24000, 7200))
    actions = speak(session, voice[:4800])  # 100 ms: one mark
    actions += session.on_model(delta(voice[4800:]))
    names = marks(actions)
    assert len(names) == 3
    session.on_twilio(tw.MarkEcho(1, SID, names[0]))
    cut = session.on_model(rt.SpeechStarted("item_in", 0))
    assert {"event": "clear", "streamSid": SID} in twilio_texts(cut)
    (truncate,) = model_texts(cut)
    assert truncate["type"] == "conversation.item.truncate"
    assert truncate["audio_end_ms"] == 100 - 3
    # The filter's memory of the cut item is gone: the next item starts from silence.
    after = session.on_model(delta(pcm_bytes(np.zeros(480, np.int16)), item="item_2"))
    assert twilio_audio(after) == ulaw_encode(np.zeros(160, np.int16))


def test_per_frame_marks_truncate_at_each_heard_frame_less_the_lag() -> None:
    session = make(openai_audio="pcm16", mark_interval_ms=20)
    ready(session)
    actions = speak(session, pcm_bytes(sine(300, 24000, 480)))
    (name,) = marks(actions)
    session.on_twilio(tw.MarkEcho(1, SID, name))
    session.on_model(delta(pcm_bytes(sine(300, 24000, 480))))
    cut = session.on_model(rt.SpeechStarted("item_in", 0))
    assert [e["type"] for e in model_texts(cut)] == ["conversation.item.truncate"]
    assert model_texts(cut)[0]["audio_end_ms"] == 17


def test_bad_base64_from_the_model_is_counted_and_dropped() -> None:
    session = make(openai_audio="pcm16")
    ready(session)
    session.on_model(rt.ResponseCreated("resp_1"))
    assert session.on_model(rt.AudioDelta("resp_1", "item_1", "not*base64")) == []
    assert session.stats.problems["bad_audio_delta"] == 1
    assert session.metrics.get("hotelvoice_model_bad_events_total", kind="bad_audio_delta") == 1
    good = session.on_model(delta(pcm_bytes(sine(300, 24000, 480))))
    assert any(isinstance(a, ToTwilio) and json.loads(a.text)["event"] == "media" for a in good)


def test_bad_base64_from_twilio_is_counted_and_the_call_goes_on() -> None:
    session = make(openai_audio="pcm16")
    ready(session)
    assert session.on_twilio(tw.Media(1, SID, "inbound", 1, 0, "@@@")) == []
    assert session.stats.problems["bad_media_payload"] == 1
    assert len(session.on_twilio(media(b"\xff" * 160))) == 1
