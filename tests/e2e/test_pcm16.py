"""OPENAI_REALTIME_AUDIO=pcm16: the bridge transcodes μ-law 8 kHz ⇄ PCM16 24 kHz per call.

The caller sends a tone; the fake model hears it as 24 kHz PCM16 and says it straight back;
the caller must get back the same tone (frequency and level), not merely some bytes.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
import trio

from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.codec.levels import rms_dbfs
from tests.e2e.conftest import Stack

TIMEOUT = 15
PCM16 = pytest.mark.settings(openai_audio="pcm16")


def tone(freq: float, rate: int, seconds: float, amplitude: float) -> npt.NDArray[np.int16]:
    t = np.arange(round(rate * seconds)) / rate
    return np.rint(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant_hz(pcm: npt.NDArray[np.int16], rate: int) -> float:
    """The strongest frequency, interpolated between FFT bins."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    peak = int(np.argmax(spectrum[1:-1])) + 1
    left, centre, right = np.log(spectrum[peak - 1 : peak + 2])
    offset = 0.5 * (left - right) / (left - 2 * centre + right)
    return float((peak + offset) * rate / len(pcm))


@PCM16
async def test_a_tone_goes_round_the_model_and_comes_back_the_same(stack: Stack) -> None:
    sent = tone(1000.0, 8000, 1.0, 8000.0)  # −12.3 dBFS
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as call:
            model = await stack.model.next_session()
            update = await model.expect("session.update")
            audio = update["session"]["audio"]
            assert audio["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
            assert audio["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
            await model.expect("response.create")
            await call.stream_audio(ulaw_encode(sent), pace_s=0)
            # 20 ms of μ-law (160 bytes) becomes 20 ms of PCM16 24 kHz (960 bytes).
            while len(model.audio_in) < 48 * 1000:
                await model.expect("input_audio_buffer.append")
            appends = model.of_type("input_audio_buffer.append")
            assert {len(event["audio"]) for event in appends} == {1280}  # base64 of 960 bytes
            heard = np.frombuffer(bytes(model.audio_in), "<i2").astype(np.int16)
            assert len(heard) == 24000
            steady_in = heard[2400:]
            assert dominant_hz(steady_in, 24000) == pytest.approx(1000.0, abs=1.0)
            assert rms_dbfs(steady_in) == pytest.approx(rms_dbfs(sent[800:]), abs=0.2)

            # The model "repeats" what it heard, in 20 ms deltas of PCM16.
            await model.speak(bytes(model.audio_in), chunk_bytes=960)
            await call.wait_for_media(8000 + 24)
            back = ulaw_decode(bytes(call.media_out))
            # Each leg adds the resampler's 3 ms; the tail of the item is flushed at its end.
            assert len(back) == 8000 + 24
            steady_back = back[800:8000]
            assert dominant_hz(steady_back, 8000) == pytest.approx(1000.0, abs=1.0)
            # Two resamplings and a second μ-law encoding: the level is the caller's own.
            assert rms_dbfs(steady_back) == pytest.approx(rms_dbfs(sent[800:]), abs=0.2)
            # The shape too: after the 6 ms round-trip delay it is the tone that was sent.
            lag = 6 * 8
            error = back[800 + lag : 8000].astype(np.float64) - sent[800 : 8000 - lag]
            snr = 10 * math.log10(np.mean(sent[800:].astype(np.float64) ** 2) / np.mean(error**2))
            # One μ-law encoding of this tone is 43 dB; the two resamplings add nothing
            # measurable. Noise, a wrong rate or a seam per frame would be far below.
            assert snr > 40.0, snr
            await call.hang_up()
            await model.closed.wait()
        call.assert_clean()
        stack.model.assert_clean()
    await stack.wait_idle()


@PCM16
async def test_barge_in_truncates_at_the_heard_milliseconds_of_24khz_audio(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial(auto_mark="manual") as call:
            model = await stack.model.next_session()
            await model.expect("response.create")
            response = await model.start_response()
            speech = tone(440.0, 24000, 0.3, 6000.0).astype("<i2").tobytes()
            await model.send_audio(speech, response=response, chunk_bytes=960)
            # 300 ms of model audio: a mark after every 100 ms that went out to Twilio.
            await call.wait_for(lambda c: len(c.pending_marks) == 3)
            assert len(call.media_out) == 2400
            await call.echo_marks(1)  # the caller heard the first 100 ms of μ-law
            await model.speech_started()
            await call.wait_for(lambda c: c.clears == 1)
            truncate = await model.expect("conversation.item.truncate")
            assert truncate["item_id"] == response.item_id
            # 100 ms heard at Twilio, less the 3 ms the outbound resampler lags the model.
            assert truncate["audio_end_ms"] == 97
            assert model.truncations == [(response.item_id, 97)]
            await call.hang_up()
        stack.model.assert_clean()
        call.assert_clean()
