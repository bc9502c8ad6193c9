"""The agent's neural voice: one chunk per sentence, at any telephone rate, understood by the
recogniser, from several threads at once."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from hotelvoice.speech import SpeechError
from hotelvoice.speech.asr import Transcriber
from hotelvoice.speech.channel import telephone_band
from hotelvoice.speech.scoring import word_accuracy
from hotelvoice.speech.voice import NeuralVoice, bundled_voice

REPLY = (
    "Good evening, thank you for calling Sunset Inn. "
    "We have a king room for two nights. "
    "Would you like me to hold it?"
)


def test_each_sentence_is_its_own_chunk(neural_voice: NeuralVoice) -> None:
    chunks = list(neural_voice.sentences(REPLY))
    assert len(chunks) == 3
    assert neural_voice.sample_rate == 22050
    for chunk in chunks:
        assert chunk.dtype == np.int16 and chunk.ndim == 1
        # At least half a second of speech, not clipped, not silent.
        assert len(chunk) > neural_voice.sample_rate // 2
        assert 0.5 * 32767 < np.abs(chunk.astype(np.int32)).max() < 32767


def test_the_first_chunk_is_the_first_sentence_alone(neural_voice: NeuralVoice) -> None:
    sentences = neural_voice.sentences(REPLY)
    first = next(sentences)
    # As long as the first sentence synthesised on its own (give or take Piper's timing
    # noise); closing the iterator leaves the rest unspoken.
    alone = neural_voice.synthesize("Good evening, thank you for calling Sunset Inn.")
    assert 0.7 < len(first) / len(alone) < 1.3
    sentences.close()


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_sentences_come_at_the_rate_asked_for(neural_voice: NeuralVoice, rate: int) -> None:
    chunks = list(neural_voice.sentences("Yes. Two adults.", rate))
    assert len(chunks) == 2
    seconds = sum(len(c) for c in chunks) / rate
    assert 0.8 < seconds < 3.0


def test_synthesize_at_resamples_the_whole_reply(neural_voice: NeuralVoice) -> None:
    pcm = neural_voice.synthesize_at("Certainly.", 8000)
    assert pcm.dtype == np.int16
    seconds = len(pcm) / 8000
    assert 0.3 < seconds < 2.0
    assert len(neural_voice.synthesize_at("Certainly.", neural_voice.sample_rate)) > 0


def test_the_recogniser_understands_the_voice_at_8_khz(
    neural_voice: NeuralVoice, transcriber: Transcriber
) -> None:
    lines = ["We have a king room for two nights.", "Would you like me to hold it?"]
    pairs = []
    for line in lines:
        pcm16 = neural_voice.synthesize_at(line, 16000)
        pairs.append((line, transcriber.transcribe(telephone_band(pcm16)).text))
    assert word_accuracy(pairs) >= 0.8, pairs


def test_blank_text_is_no_audio(neural_voice: NeuralVoice) -> None:
    assert list(neural_voice.sentences("   ")) == []
    assert len(neural_voice.synthesize("")) == 0
    assert len(neural_voice.synthesize_at("", 8000)) == 0


def test_several_threads_speak_at_once(neural_voice: NeuralVoice) -> None:
    texts = ["One moment please.", "Thank you for waiting.", "Goodbye."] * 2
    alone = [len(neural_voice.synthesize(text)) for text in texts]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda text: len(neural_voice.synthesize(text)), texts))
    # Piper varies its timing a little from run to run (its duration noise), so compare
    # lengths, not samples.
    for one, other in zip(alone, together, strict=True):
        assert math.isclose(one, other, rel_tol=0.25)


def test_a_rate_the_resampler_cannot_reach_is_refused(neural_voice: NeuralVoice) -> None:
    with pytest.raises(ValueError, match="small ratio"):
        next(neural_voice.sentences("Hello.", 44099))


def test_missing_or_broken_voice_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpeechError, match="config"):
        NeuralVoice(tmp_path / "nobody.onnx")
    _, config = bundled_voice()
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"not an onnx model")
    with pytest.raises(SpeechError, match="onnxruntime cannot load"):
        NeuralVoice(model, config)
