"""The caller's side of a softphone call: what to say, and when to say it.

A script is a list of lines. Each is spoken text (synthesised with
:class:`hotelvoice.speech.tts.Speaker`), a recording (``wav:path.wav``) or key presses
(``dtmf:123#``). Script files hold one line per line; blank lines and lines starting with
``#`` are skipped; relative ``wav:`` paths are relative to the script file.

:class:`TurnTaking` decides, frame by frame, what the caller sends (sans-IO: it is given the
call time and the :class:`~hotelvoice.softphone.playout.Playout` that says what the caller
hears). The caller waits for the agent's first audio (the greeting) to finish and ~0.7 s of
quiet to follow, then says the next line, and so on; after the last line's answer the script
is finished. With ``barge_in`` each line starts while the agent is still talking, 0.5 s after
its audio started, to exercise the server's barge-in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt

from hotelvoice.codec.g711 import ulaw_encode
from hotelvoice.codec.resample import StreamResampler
from hotelvoice.codec.wav import read_wav
from hotelvoice.softphone.defaults import DEFAULT_VOICE, DEFAULT_WPM
from hotelvoice.softphone.errors import SoftphoneError
from hotelvoice.softphone.playout import Playout
from hotelvoice.softphone.protocol import FRAME_BYTES, MULAW_RATE, SILENCE
from hotelvoice.speech import SpeechError
from hotelvoice.speech.tts import Speaker

__all__ = [
    "DEFAULT_VOICE",
    "DEFAULT_WPM",
    "CallerLine",
    "LineTiming",
    "ScriptEntry",
    "Tick",
    "TurnTaking",
    "load_lines",
    "parse_entry",
    "parse_script",
    "read_script",
    "wav_to_mulaw",
]

SILENCE_FRAME = SILENCE * FRAME_BYTES
_DIGITS = re.compile(r"[0-9*#]+")

EntryKind = Literal["say", "wav", "dtmf"]


@attrs.frozen
class ScriptEntry:
    """One line of a script before it is turned into audio."""

    kind: EntryKind
    value: str  # the text to say, the WAV's path, or the digits

    @property
    def label(self) -> str:
        """How the line shows in the transcript."""
        return self.value if self.kind == "say" else f"{self.kind}:{self.value}"


def parse_entry(line: str, base: Path | None = None) -> ScriptEntry:
    """One script line: ``wav:PATH`` (relative to ``base``), ``dtmf:DIGITS``, else text.

    Raises:
        SoftphoneError: an empty line, or DTMF digits other than 0-9, ``*`` and ``#``.
    """
    text = line.strip()
    if not text:
        raise SoftphoneError("a script line is empty")
    prefix, _, rest = text.partition(":")
    prefix = prefix.strip().lower()
    if prefix == "wav" and rest.strip():
        path = Path(rest.strip()).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        return ScriptEntry("wav", str(path))
    if prefix == "dtmf":
        digits = rest.strip().replace(" ", "")
        if not _DIGITS.fullmatch(digits):
            raise SoftphoneError(f"dtmf: takes the keys 0-9, * and #, not {rest.strip()!r}")
        return ScriptEntry("dtmf", digits)
    return ScriptEntry("say", text)


def parse_script(text: str, base: Path | None = None) -> list[ScriptEntry]:
    """The lines of a script file's ``text``, skipping blank lines and ``#`` comment lines."""
    entries = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            entries.append(parse_entry(line, base))
    return entries


def read_script(path: str | Path) -> list[ScriptEntry]:
    """Read and parse a script file.

    Raises:
        SoftphoneError: the file cannot be read, or a line is malformed.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SoftphoneError(f"cannot read the script {str(path)!r}: {exc}") from None
    return parse_script(text, path.parent)


# --------------------------------------------------------------------------------------------
# Lines as audio
# --------------------------------------------------------------------------------------------


@attrs.frozen
class CallerLine:
    """A line ready to send: μ-law 8 kHz ``audio``, or DTMF ``digits`` (then no audio)."""

    label: str
    audio: bytes = b""
    digits: str = ""


def _to_mulaw(pcm: npt.NDArray[np.int16], rate: int) -> bytes:
    """A whole recording as μ-law 8 kHz, aligned with the original (the filter's delay is
    taken off the front) and ``ceil(n * 8000 / rate)`` samples long."""
    if rate != MULAW_RATE:
        resampler = StreamResampler(rate, MULAW_RATE)
        skip = round(resampler.delay_samples)
        length = -(-len(pcm) * MULAW_RATE // rate)
        whole = np.concatenate([resampler.process(pcm), resampler.flush()])
        pcm = whole[skip : skip + length]
    return ulaw_encode(pcm)


def wav_to_mulaw(path: str | Path) -> bytes:
    """A 16-bit PCM WAV (any rate; channels are mixed down) as μ-law 8 kHz.

    Raises:
        SoftphoneError: the file is missing or not a 16-bit PCM WAV.
    """
    try:
        pcm, rate = read_wav(path)
    except (OSError, ValueError) as exc:
        raise SoftphoneError(f"cannot read {str(path)!r}: {exc}") from None
    if pcm.ndim == 2:
        pcm = np.round(pcm.mean(axis=1)).astype(np.int16)
    return _to_mulaw(pcm, rate)


def _speaker(voice: str, wpm: int) -> Speaker:
    try:
        return Speaker(voice=voice, wpm=wpm)
    except SpeechError as exc:
        raise SoftphoneError(f"cannot speak with voice {voice!r} at {wpm} wpm: {exc}") from None


def load_lines(
    entries: Sequence[ScriptEntry], *, voice: str = DEFAULT_VOICE, wpm: int = DEFAULT_WPM
) -> list[CallerLine]:
    """Turn script entries into audio: text through ``Speaker(voice, wpm)``, WAVs resampled.

    Blocking (speech synthesis, file reads): run it with ``trio.to_thread.run_sync``.

    Raises:
        SoftphoneError: a WAV cannot be read, or espeak-ng cannot speak text lines with
            ``voice`` at ``wpm``.
    """
    speaker: Speaker | None = None
    lines = []
    for entry in entries:
        if entry.kind == "dtmf":
            lines.append(CallerLine(entry.label, digits=entry.value))
        elif entry.kind == "wav":
            lines.append(CallerLine(entry.label, audio=wav_to_mulaw(entry.value)))
        else:
            if speaker is None:
                speaker = _speaker(voice, wpm)
            pcm = speaker.synthesize_at(entry.value, MULAW_RATE)
            lines.append(CallerLine(entry.label, audio=_to_mulaw(pcm, MULAW_RATE)))
    return lines


# --------------------------------------------------------------------------------------------
# Turn-taking
# --------------------------------------------------------------------------------------------


@attrs.frozen
class LineTiming:
    """When line ``index`` was said: call times of its first and last sample (or key)."""

    index: int
    label: str
    start: float
    end: float


@attrs.frozen
class Tick:
    """What the caller sends for one 20 ms frame: DTMF ``digits`` first, then ``frame``.

    ``started``/``ended`` name a line that started or ended at this frame. ``finished``: the
    script is over; send nothing more (``frame`` is then empty).
    """

    frame: bytes
    digits: tuple[str, ...] = ()
    started: int | None = None
    ended: int | None = None
    finished: bool = False


class TurnTaking:
    """Decides, one frame at a time, when the caller speaks. Sans-IO.

    Call :meth:`tick` once per frame with the frame's call time (non-decreasing, normally
    20 ms apart) and the call's :class:`Playout`. Waiting for the agent, the caller is quiet
    (silence frames: a real phone keeps sending). It says the next line once the agent has
    spoken after the previous line (the greeting, for the first) and ``quiet_s`` of quiet
    followed; with ``barge_in``, already ``barge_in_after_s`` after the agent started talking.
    If the agent says nothing within ``greeting_timeout_s`` (first line) or
    ``answer_timeout_s`` (later lines), the caller goes on anyway and :attr:`notes` says so.
    After the last line's answer (or its timeout) :attr:`finished` is set.
    """

    def __init__(
        self,
        lines: Sequence[CallerLine],
        *,
        barge_in: bool = False,
        quiet_s: float = 0.7,
        barge_in_after_s: float = 0.5,
        greeting_timeout_s: float = 10.0,
        answer_timeout_s: float = 15.0,
        dtmf_interval_s: float = 0.25,
    ) -> None:
        self.lines = list(lines)
        self.barge_in = barge_in
        self.quiet_s = quiet_s
        self.barge_in_after_s = barge_in_after_s
        self.greeting_timeout_s = greeting_timeout_s
        self.answer_timeout_s = answer_timeout_s
        self.dtmf_interval_s = dtmf_interval_s
        self.timings: list[LineTiming] = []
        self.notes: list[tuple[float, str]] = []
        self.finished = False
        self._next = 0  # index of the next line to say
        self._speaking: CallerLine | None = None
        self._line_start = 0.0
        self._frames_sent = 0
        self._digits_sent = 0
        self._heard_after = 0.0  # agent audio ending after this answers the last line
        self._waiting_since = 0.0

    def _answered(self, playout: Playout) -> bool:
        return playout.first_audio_at is not None and playout.last_audio_end > self._heard_after

    def _ready(self, t: float, playout: Playout) -> bool:
        """Whether the caller may start the next line at ``t``."""
        if self._answered(playout):
            if playout.quiet_for(t) >= self.quiet_s:
                return True
            burst = playout.burst_start(t)
            if (
                self.barge_in
                and burst is not None
                and burst >= self._heard_after
                and t - burst >= self.barge_in_after_s
            ):
                return True
        timeout = self.greeting_timeout_s if self._next == 0 else self.answer_timeout_s
        if t - self._waiting_since >= timeout:
            what = "greeting" if self._next == 0 else f"answer to line {self._next}"
            self.notes.append((t, f"no {what} within {timeout:g} s; going on"))
            return True
        return False

    def tick(self, t: float, playout: Playout) -> Tick:
        """The frame to send at call time ``t``."""
        if self.finished:
            return Tick(b"", finished=True)
        started: int | None = None
        if self._speaking is None:
            if not self._ready(t, playout):
                return Tick(SILENCE_FRAME)
            if self._next >= len(self.lines):
                self.finished = True
                return Tick(b"", finished=True)
            self._speaking = self.lines[self._next]
            self._line_start = t
            self._frames_sent = self._digits_sent = 0
            started = self._next
        line = self._speaking
        if line.digits:
            elapsed = t - self._line_start
            due = min(len(line.digits), int(elapsed / self.dtmf_interval_s + 1e-9) + 1)
            digits = tuple(line.digits[self._digits_sent : due])
            self._digits_sent = due
            frame = SILENCE_FRAME
            done = due == len(line.digits)
            end = self._line_start + (len(line.digits) - 1) * self.dtmf_interval_s
        else:
            digits = ()
            offset = self._frames_sent * FRAME_BYTES
            frame = line.audio[offset : offset + FRAME_BYTES]
            frame += SILENCE * (FRAME_BYTES - len(frame))
            self._frames_sent += 1
            done = self._frames_sent * FRAME_BYTES >= len(line.audio)
            end = self._line_start + len(line.audio) / MULAW_RATE
        ended: int | None = None
        if done:
            self.timings.append(LineTiming(self._next, line.label, self._line_start, end))
            ended = self._next
            self._next += 1
            self._speaking = None
            self._heard_after = self._waiting_since = end
        return Tick(frame, digits, started, ended)
