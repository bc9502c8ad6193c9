"""Where speech starts and ends in one audio stream: pocketsphinx's endpointer, with stream times.

``pocketsphinx.Endpointer`` runs a WebRTC-derived VAD on fixed frames (30 ms) and smooths its
decisions over a window (``window_s``, 0.3 s = 10 frames): speech starts when more than
``ratio`` of the window is speech (with the defaults, 10 of 10 frames) and ends when less than
``1 - ratio`` is (0 of 10). :class:`SpeechDetector` feeds it arbitrary-length int16 chunks,
re-framing them, and turns its output into events:

* ``SpeechStarted(at_ms)``: the start of the first speech frame, i.e. where the speech really
  began (to within a frame), **not** when it was detected. The decision comes
  ``start_delay_ms`` (the window, 300 ms) later: the event is returned by the ``feed`` call
  whose samples reach ``at_ms + start_delay_ms``. When the VAD misses a soft first word
  ("what's", "not") the start is that much late: on the telephone band 80 % of starts were
  within 100 ms of the truth and the rest mostly about 300 ms late (``bench/speech.py``).
* ``SpeechAudio(pcm)``: the audio to decode, in order and without gaps, from
  ``SpeechStarted.at_ms - pre_roll_ms`` to ``SpeechEnded.at_ms + hangover_ms`` (the
  endpointer's end) ``+ post_roll_ms``. The endpointer releases one frame per frame fed, the
  oldest in its window, so the audio lags the input by the window less one frame (270 ms)
  throughout: the first audio (with the pre-roll) comes with ``SpeechStarted``, the last with
  ``SpeechEnded``. The pre-roll (300 ms by default) is there because the VAD misses soft
  onsets: "what's your address" and "not really" came back as "the eleventh" and "for a
  week" when the recogniser heard only the endpointer's frames. Over 40 caller lines × 4
  espeak voices through the telephone band (``bench/speech.py``), intents went from 125 to
  148 of 160 right with it; a post-roll (default 0) made no difference.
* ``SpeechEnded(at_ms)``: where the speech ended. The endpointer's own end (its
  ``speech_end``) is the end of the first frame its VAD called non-speech, but the WebRTC
  VAD keeps saying "speech" for a hangover after the speech stops (3 frames in modes 2–3, 5
  in modes 0–1, for 30 ms frames), so that end is late: against the envelope of 180 espeak
  utterances (clean and telephone band) it was +83 to +105 ms late on average in modes 2–3
  (+170 ms in modes 0–1) and within 100 ms of the truth for only a third to a half of them.
  ``at_ms`` is the endpointer's end less ``hangover_ms``, the hangover less one frame (60 ms
  in modes 2–3, 120 ms in modes 0–1: the correction that fitted best), which puts 93–98 % of
  those ends within 100 ms and 99–100 % within 150 ms (the benchmark's 160 telephone-band
  lines: 96 %, worst 212 ms). It can still be early when the VAD misses a final fricative
  ("nights" without its "s"). The decision comes ``decision_delay_ms`` after ``at_ms``:
  ``hangover_ms`` plus the window less one frame, 330 ms with the defaults. When the stream
  ends in speech (``finish``), ``at_ms`` is where the held speech ends: the end of the stream
  if the speech ran to it.

All times are milliseconds since the detector's stream started (its creation or ``reset``),
counting every sample fed, speech or not: the position of the speech in the stream. They come
from sample counts, so they never drift. Not thread-safe: one detector per stream.
"""

from __future__ import annotations

from typing import Final

import attrs
import numpy as np
import numpy.typing as npt
from pocketsphinx import Endpointer

from hotelvoice.speech import SpeechError

__all__ = [
    "PRE_ROLL_MS",
    "SUPPORTED_RATES",
    "SpeechAudio",
    "SpeechDetector",
    "SpeechEnded",
    "SpeechEvent",
    "SpeechStarted",
]

SUPPORTED_RATES: Final = (8000, 16000, 32000, 48000)  # the WebRTC VAD's exact rates
PRE_ROLL_MS: Final = 300  # audio before SpeechStarted.at_ms given to the recogniser
MAX_PRE_ROLL_MS: Final = 1000
FRAME_MS: Final = 30  # the endpointer's default frame, the one the hangovers below are for
# By VAD mode, how many 30 ms frames the endpointer's end is late: the WebRTC VAD's hangover
# after a run of speech (vad_core.c, kOverHangMax2*: 5, 5, 3, 3 frames) less one, the
# correction that fitted espeak speech best (see the module docstring).
HANGOVER_FRAMES: Final = {0: 4, 1: 4, 2: 2, 3: 2}


@attrs.frozen
class SpeechStarted:
    """Speech began at ``at_ms`` in the stream (decided ``start_delay_ms`` later)."""

    at_ms: int


@attrs.frozen(eq=False)
class SpeechAudio:
    """The next piece of speech to decode, at the detector's sample rate."""

    pcm: npt.NDArray[np.int16]


@attrs.frozen
class SpeechEnded:
    """Speech ended by ``at_ms`` in the stream (decided ``decision_delay_ms`` later)."""

    at_ms: int


SpeechEvent = SpeechStarted | SpeechAudio | SpeechEnded


class SpeechDetector:
    """Speech segments in one stream of int16 PCM at ``sample_rate``.

    ``vad_mode`` 0–3 is the VAD's aggressiveness (3 rejects the most non-speech); ``window_s``
    and ``ratio`` are the endpointer's smoothing (see the module docstring).
    ``pre_roll_ms`` and ``post_roll_ms`` widen each segment's *audio* (not its times) with
    the input just before its start and just after its end, which the endpointer itself
    drops: soft onsets ("wh", "n", "th") and final fricatives ("s") can fall outside its
    speech frames, and the recogniser then loses them. The pre-roll stops at the stream's
    start and at the previous segment's audio; the post-roll can be at most the window less
    a frame (270 ms: what has been heard when the end is decided). Raises ValueError for a
    rate the VAD does not support, a window/ratio that cannot endpoint, or a roll out of
    range.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        *,
        vad_mode: int = 3,
        window_s: float = 0.3,
        ratio: float = 0.9,
        pre_roll_ms: int = PRE_ROLL_MS,
        post_roll_ms: int = 0,
    ) -> None:
        if sample_rate not in SUPPORTED_RATES:
            raise ValueError(f"sample_rate must be one of {SUPPORTED_RATES}, got {sample_rate}")
        if vad_mode not in (0, 1, 2, 3):
            raise ValueError(f"vad_mode must be 0–3, got {vad_mode}")
        self.sample_rate = sample_rate
        self.vad_mode = vad_mode
        self.window_s = window_s
        self.ratio = ratio
        self._endpointer = self._new_endpointer()
        self.frame_samples: int = self._endpointer.frame_bytes // 2
        frame_s = self.frame_samples / sample_rate
        # The endpointer's own arithmetic (ps_endpointer_init): the window in whole frames.
        self.window_frames: int = int(window_s / frame_s + 0.5)
        hangover = HANGOVER_FRAMES[vad_mode] if self.frame_ms == FRAME_MS else 0
        self._hangover = hangover * self.frame_samples
        if not 0 <= pre_roll_ms <= MAX_PRE_ROLL_MS:
            raise ValueError(f"pre_roll_ms must be 0–{MAX_PRE_ROLL_MS}, got {pre_roll_ms}")
        # What has been heard after the endpointer's end when it decides.
        most = (self.window_frames - 1) * self.frame_ms
        if not 0 <= post_roll_ms <= most:
            raise ValueError(f"post_roll_ms must be 0–{most}, got {post_roll_ms}")
        self.pre_roll_ms = pre_roll_ms
        self.post_roll_ms = post_roll_ms
        self._pre = pre_roll_ms * sample_rate // 1000
        self._post = post_roll_ms * sample_rate // 1000
        # Enough past input for the pre-roll of a segment decided a window after its start.
        self._keep = (self.window_frames + 1) * self.frame_samples + self._pre
        self.reset()

    def _new_endpointer(self) -> Endpointer:
        try:
            return Endpointer(
                window=self.window_s,
                ratio=self.ratio,
                vad_mode=self.vad_mode,
                sample_rate=self.sample_rate,
            )
        except ValueError as exc:
            raise ValueError(
                f"pocketsphinx cannot endpoint with window {self.window_s} s and ratio "
                f"{self.ratio}: {exc}"
            ) from exc

    @property
    def frame_ms(self) -> int:
        """The endpointer's fixed frame: decisions happen on these boundaries."""
        return self.frame_samples * 1000 // self.sample_rate

    @property
    def start_delay_ms(self) -> int:
        """How long after ``SpeechStarted.at_ms`` the start is decided (the window)."""
        return self.window_frames * self.frame_ms

    @property
    def hangover_ms(self) -> int:
        """How far a segment's audio runs past ``SpeechEnded.at_ms``: the endpointer's end is
        this late (the VAD's hangover, as corrected; 60 ms in modes 2–3)."""
        return self._ms(self._hangover)

    @property
    def decision_delay_ms(self) -> int:
        """How long after ``SpeechEnded.at_ms`` the end is decided: ``hangover_ms`` plus the
        window less a frame (330 ms with the defaults).

        This is the end-of-turn latency the detector adds; input arriving in chunks adds up
        to one chunk more, since a decision needs the whole frame.
        """
        return self.hangover_ms + (self.window_frames - 1) * self.frame_ms

    @property
    def in_speech(self) -> bool:
        """Whether a segment has started and not yet ended."""
        return self._in_speech

    @property
    def position_ms(self) -> int:
        """How much audio the stream has had so far (whole milliseconds)."""
        return self._ms(self._frames * self.frame_samples + len(self._pending))

    def reset(self) -> None:
        """Forget the stream: a new one starts at 0 ms, with no speech open."""
        self._endpointer = self._new_endpointer()
        self._pending = np.zeros(0, np.int16)  # input short of a whole frame
        self._history = np.zeros(0, np.int16)  # the last framed input, up to self._keep
        self._frames = 0  # frames given to the endpointer since the stream started
        self._in_speech = False
        self._segment_start = 0  # stream sample where the current segment's speech starts
        self._emitted = 0  # samples of speech returned in the current segment
        self._audio_end = 0  # stream sample after the last audio returned (rolls included)

    def feed(self, pcm: npt.NDArray[np.int16]) -> list[SpeechEvent]:
        """The events that the stream's next samples decide, in order (often none).

        Audio events of one segment within one call are merged into one ``SpeechAudio``.
        Raises TypeError unless ``pcm`` is int16, ValueError unless it is 1-D, and
        SpeechError if the VAD fails.
        """
        if pcm.dtype != np.int16:
            raise TypeError(f"SpeechDetector.feed expects int16 samples, got {pcm.dtype}")
        if pcm.ndim != 1:
            raise ValueError(f"SpeechDetector.feed expects a 1-D array, got shape {pcm.shape}")
        data = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        size = self.frame_samples
        whole = len(data) // size * size
        self._pending = data[whole:].copy()
        # Past and new framed input, with `base` the stream index of its first sample.
        context = np.concatenate([self._history, data[:whole]])
        base = self._frames * size - len(self._history)
        events: list[SpeechEvent] = []
        audio: list[npt.NDArray[np.int16]] = []
        for offset in range(0, whole, size):
            was_speaking = self._in_speech
            try:
                speech = self._endpointer.process(data[offset : offset + size].tobytes())
            except (IndexError, ValueError) as exc:
                raise SpeechError(f"pocketsphinx VAD failed: {exc}") from exc
            self._frames += 1
            if speech is None:
                continue
            if not was_speaking:
                # speech_start is the start of the oldest frame in the window, a whole number
                # of frames into the stream; round() undoes float summation error.
                start_frame = round(self._endpointer.speech_start * self.sample_rate / size)
                self._segment_start = start_frame * size
                self._emitted = 0
                self._in_speech = True
                events.append(SpeechStarted(self._ms(self._segment_start)))
                roll_from = max(self._segment_start - self._pre, self._audio_end, base)
                audio.append(context[roll_from - base : self._segment_start - base])
            audio.append(np.frombuffer(speech, np.int16))
            self._emitted += len(speech) // 2
            if not self._endpointer.in_speech:
                end = self._segment_start + self._emitted
                heard = self._frames * size
                audio.append(context[end - base : min(end + self._post, heard) - base])
                self._audio_end = min(end + self._post, heard)
                events.append(SpeechAudio(_joined(audio)))
                audio = []
                self._in_speech = False
                spoken = max(end - self._hangover, self._segment_start)
                events.append(SpeechEnded(self._ms(spoken)))
        if audio:
            events.append(SpeechAudio(_joined(audio)))
            self._audio_end = self._segment_start + self._emitted
        self._history = context[-self._keep :].copy()
        return events

    def finish(self) -> list[SpeechEvent]:
        """End the stream (the call hung up): close an open segment with the speech still
        held back, then reset. Returns no events when no speech is open."""
        events: list[SpeechEvent] = []
        if self._in_speech:
            # The binding cannot take an empty final frame (it indexes the buffer's first
            # byte), so give it one silent sample and take that sample back out below.
            final = self._pending if len(self._pending) else np.zeros(1, np.int16)
            try:
                rest = self._endpointer.end_stream(final.tobytes())
            except (IndexError, ValueError) as exc:
                raise SpeechError(f"pocketsphinx VAD failed: {exc}") from exc
            tail = np.frombuffer(rest, np.int16) if rest else np.zeros(0, np.int16)
            if not len(self._pending) and len(tail) % self.frame_samples:
                tail = tail[:-1]
            end = self._segment_start + self._emitted + len(tail)
            # What was heard after the speech, up to the post-roll.
            context = np.concatenate([self._history, self._pending])
            heard = self._frames * self.frame_samples + len(self._pending)
            base = heard - len(context)
            after = context[end - base : min(end + self._post, heard) - base]
            if len(tail) or len(after):
                events.append(SpeechAudio(_joined([tail, after])))
            events.append(SpeechEnded(self._ms(end)))
        self.reset()
        return events

    def _ms(self, sample: int) -> int:
        return sample * 1000 // self.sample_rate


def _joined(chunks: list[npt.NDArray[np.int16]]) -> npt.NDArray[np.int16]:
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
