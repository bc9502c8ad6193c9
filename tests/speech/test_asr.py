"""The Whisper recogniser: hotel requests in new words through the telephone band, from the
neural voice and from espeak; silence and noise as nothing; bad model directories refused."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.config import settings_from_env
from hotelvoice.speech import SpeechError
from hotelvoice.speech.asr import (
    NO_SPEECH_THRESHOLD,
    SAMPLE_RATE,
    Transcriber,
    _detokenize,
    _without_loops,
    bundled_model,
    log_mel,
    mel_filters,
)
from hotelvoice.speech.channel import telephone_band
from hotelvoice.speech.scoring import spoken_words, word_accuracy, word_errors
from hotelvoice.speech.tts import Speaker, resample
from hotelvoice.speech.voice import NeuralVoice

RATE = SAMPLE_RATE
# Caller lines in words the old grammar never had.
LINES = [
    "Hi, is breakfast included with the room?",
    "Please call me back tomorrow at 3 pm.",
    "The air conditioner in room 212 is broken.",
    "We are two adults and one child.",
    "Is there parking at the hotel?",
    "Great, thanks. Goodbye.",
    "Can you text me the payment link?",
    "I want to cancel my reservation.",
]
# Lines espeak's en-us+f2 says clearly enough for tiny.en (robotic voices are harder for it
# than the neural one: 73 % of words against 96 % over 20 lines).
ESPEAK_LINES = [
    "Please call me back tomorrow at 3 pm.",
    "The air conditioner in room 212 is broken.",
    "We are two adults and one child.",
    "Do you have any rooms free next weekend?",
    "What time is check out?",
]


def padded(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """An utterance as the detector hands it over: a little silence either side."""
    quiet = np.zeros(RATE // 4, np.int16)
    return np.concatenate([quiet, pcm, quiet])


def line_noise(seconds: float, dbfs: float, seed: int = 3) -> npt.NDArray[np.int16]:
    """White noise at ``dbfs`` on an 8 kHz μ-law line, back at 16 kHz."""
    sigma = 32768 * 10 ** (dbfs / 20)
    noise = np.random.default_rng(seed).normal(0, sigma, int(seconds * 8000))
    line = ulaw_decode(ulaw_encode(np.clip(np.rint(noise), -32768, 32767).astype(np.int16)))
    return resample(line, 8000, RATE)


@pytest.fixture(scope="module")
def neural_lines(neural_voice: NeuralVoice) -> list[npt.NDArray[np.int16]]:
    return [telephone_band(padded(neural_voice.synthesize_at(line, RATE))) for line in LINES]


def test_the_neural_voice_through_the_telephone_band_comes_back_nearly_word_for_word(
    transcriber: Transcriber, neural_lines: list[npt.NDArray[np.int16]]
) -> None:
    heard = [transcriber.transcribe(pcm) for pcm in neural_lines]
    pairs = [(line, result.text) for line, result in zip(LINES, heard, strict=True)]
    # 95–98 % measured (Piper's synthesis varies from run to run); the margin is for that.
    assert word_accuracy(pairs) >= 0.85, pairs
    assert sum(word_errors(line, text) == 0 for line, text in pairs) >= len(LINES) // 2, pairs
    # Numbers as digits, the way the policy will read them.
    assert "212" in spoken_words(heard[2].text), heard[2]
    # Far from the 0.6 at which the recogniser calls it silence: the worst line of a run
    # measured 0.04-0.09 over 12 runs, and above 0.1 once in CI (the synthesis is random).
    assert all(result.no_speech is not None and result.no_speech < 0.3 for result in heard)


def test_an_espeak_voice_through_the_telephone_band_is_mostly_understood(
    transcriber: Transcriber,
) -> None:
    speaker = Speaker("en-us+f2")
    pairs = []
    for line in ESPEAK_LINES:
        pcm = telephone_band(padded(speaker.synthesize_at(line, RATE)))
        pairs.append((line, transcriber.transcribe(pcm).text))
    assert word_accuracy(pairs) >= 0.7, pairs


@pytest.mark.parametrize(
    "noise",
    [
        pytest.param(lambda: np.zeros(2 * RATE, np.int16), id="digital-silence"),
        pytest.param(lambda: line_noise(2.0, -60), id="quiet-line"),
        pytest.param(lambda: line_noise(2.0, -40), id="hiss"),
        pytest.param(lambda: line_noise(0.5, -25), id="loud-burst"),
        pytest.param(
            lambda: (3000 * np.sin(2 * np.pi * 60 * np.arange(2 * RATE) / RATE)).astype(np.int16),
            id="mains-hum",
        ),
    ],
)
def test_silence_and_noise_transcribe_to_nothing(transcriber: Transcriber, noise: object) -> None:
    assert callable(noise)
    result = transcriber.transcribe(noise())
    assert result.text == ""


def test_whisper_s_guess_on_noise_is_kept_aside_with_its_no_speech_probability(
    transcriber: Transcriber,
) -> None:
    result = transcriber.transcribe(line_noise(2.0, -35))
    assert result.text == ""
    assert result.no_speech is not None and result.no_speech > NO_SPEECH_THRESHOLD
    assert result.dropped  # Whisper wrote something ("you"), which was dropped


def test_digital_silence_is_not_decoded(transcriber: Transcriber) -> None:
    result = transcriber.transcribe(np.zeros(RATE, np.int16))
    assert (result.text, result.no_speech, result.log_probability) == ("", None, None)
    assert result.audio_s == 1.0
    for samples in (0, 7):
        assert transcriber.transcribe(np.zeros(samples, np.int16)).text == ""


def test_concurrent_calls_get_the_same_texts_as_one_at_a_time(
    transcriber: Transcriber, neural_lines: list[npt.NDArray[np.int16]]
) -> None:
    alone = [transcriber.transcribe(pcm).text for pcm in neural_lines[:4]]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda pcm: transcriber.transcribe(pcm).text, neural_lines[:4]))
    assert together == alone


def test_speech_longer_than_the_model_s_window_is_transcribed_in_pieces(
    transcriber: Transcriber, neural_lines: list[npt.NDArray[np.int16]]
) -> None:
    first, second = neural_lines[2], neural_lines[3]
    long = np.concatenate([first, np.zeros(28 * RATE, np.int16), second])
    assert len(long) > 30 * RATE
    text = transcriber.transcribe(long).text
    words = spoken_words(text)
    assert "212" in words and "adults" in words, text


def test_a_missing_model_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="no speech model directory"):
        Transcriber(tmp_path / "small.en")


def test_a_directory_without_a_whisper_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match=r"not a CTranslate2 Whisper model: no model\.bin"):
        Transcriber(tmp_path)
    (tmp_path / "model.bin").write_bytes(b"\0" * 16)
    (tmp_path / "config.json").write_text(json.dumps({"add_source_bos": True}))
    with pytest.raises(SpeechError, match="not a CTranslate2 Whisper model"):
        Transcriber(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"suppress_ids": []}))
    with pytest.raises(SpeechError, match="CTranslate2 cannot load"):
        Transcriber(tmp_path)


def test_the_bundled_model_is_tiny_en_and_the_setting_defaults_to_it() -> None:
    assert (bundled_model() / "model.bin").is_file()
    assert settings_from_env({}, dotenv=None).stt_model == ""
    chosen = settings_from_env({"HOTELVOICE_STT_MODEL": "/models/small.en"}, dotenv=None)
    assert chosen.stt_model == "/models/small.en"


def test_bad_audio_and_settings_are_refused(transcriber: Transcriber) -> None:
    with pytest.raises(TypeError, match="int16"):
        transcriber.transcribe(np.zeros(RATE, np.float32))
    with pytest.raises(TypeError, match="int16"):
        transcriber.transcribe(np.zeros((2, RATE), np.int16))
    with pytest.raises(ValueError, match="window_s"):
        Transcriber(window_s=45)
    with pytest.raises(ValueError, match="threads"):
        Transcriber(threads=0)


def test_the_front_end_puts_a_tone_in_its_mel_band_and_pads_with_silence() -> None:
    filters = mel_filters(80)
    assert filters.shape == (80, 201)
    tone = (8000 * np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)).astype(np.int16)
    features = log_mel(tone, 300)
    assert features.shape == (80, 300) and features.dtype == np.float32
    # The band whose filter peaks nearest 1 kHz (FFT bin 25) is the loudest.
    band = int(np.argmax(filters[:, 25]))
    assert int(np.argmax(features[:, 50])) == band
    # Past the tone, the padding sits at the floor: 8 below the loudest (scaled by 1/4).
    assert np.allclose(features[:, 150:], features.max() - 2.0)


def test_tokens_become_text_byte_by_byte() -> None:
    assert _detokenize(["ĠHi", ",", "Ġroom", "Ġ212", "."]) == " Hi, room 212."
    # "café": the é is two bytes, each its own stand-in character.
    assert _detokenize(["Ġcaf", "Ã", "©"]) == " café"


def test_a_hallucinated_loop_is_kept_once() -> None:
    assert _without_loops("Beep Beep Beep Beep Beep") == "Beep"
    assert _without_loops("to be able to be able to be able to do it") == "to be able to do it"
    assert _without_loops("No, no. Two adults and two children.") == (
        "No, no. Two adults and two children."
    )


def test_words_are_compared_the_way_whisper_writes_them() -> None:
    assert spoken_words("Please call me back tomorrow at 3 p.m.") == spoken_words(
        "please call me back tomorrow at three pm"
    )
    assert spoken_words("My number is 555-123-4567.") == ["my", "number", "is", "5551234567"]
    assert spoken_words("From January 15th to the 18th") == spoken_words(
        "from january 15 to the 18"
    )
    assert word_errors("Any rooms free?", "Any runes free?") == 1
    assert word_accuracy([("two adults", "two adults"), ("one child", "")]) == 0.5
