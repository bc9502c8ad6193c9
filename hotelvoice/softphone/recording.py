"""The call as the caller experienced it: a stereo recording, a timed transcript of both
sides and the voice-to-voice latency of each answer.

* The recording (:func:`write_recording`): 8 kHz stereo WAV, the caller on the left and the
  agent on the right, on one timeline: caller frame ``i`` at ``i * 20 ms``, agent audio where
  it was *played* (a ``clear`` cuts it where playback stopped; flushed audio is absent).
* The transcript (:func:`build_report`): the caller's lines as scripted, with their times;
  the agent's side recognised from the audio it actually played: speech segments found by
  :class:`hotelvoice.speech.vad.SpeechDetector` at 8 kHz, joined into turns, upsampled to
  16 kHz and transcribed free-form by :class:`hotelvoice.speech.asr.Transcriber` (the
  offline engine's own ears), so the transcript is the same whether the server answers with
  OpenAI or its offline engine. Without speech (or if the detector fails), segments come
  from signal energy and show as ``[agent audio 1.2 s]``.
* Latency: for each caller line, from its last sample to the agent's first audible sample
  after it (before the next line), and the mean over the answered lines. A line the agent
  was still talking over when it ended is marked "talked over", not timed.

Everything here but :func:`write_recording` is pure computation; :func:`build_report` is
blocking (speech recognition): call it through ``trio.to_thread.run_sync``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt

from hotelvoice.codec.g711 import ulaw_decode
from hotelvoice.codec.levels import rms_dbfs
from hotelvoice.codec.resample import StreamResampler
from hotelvoice.codec.wav import interleave, write_wav
from hotelvoice.softphone.client import CallRecord
from hotelvoice.softphone.playout import PlayedAudio
from hotelvoice.softphone.protocol import FRAME_BYTES, MULAW_RATE
from hotelvoice.softphone.script import LineTiming
from hotelvoice.speech.asr import Transcriber
from hotelvoice.speech.vad import SpeechDetector, SpeechEnded, SpeechStarted

__all__ = [
    "CallReport",
    "LineLatency",
    "Segment",
    "TranscriptEntry",
    "agent_track",
    "build_report",
    "caller_track",
    "energy_segments",
    "format_report",
    "latencies",
    "stereo",
    "write_recording",
]

#: Agent audio at or above this level counts as speech (energy fallback, latency).
SPEECH_DBFS = -45.0
#: |sample| at or above this counts as the agent's first audible sample (about -42 dBFS).
AUDIBLE_SAMPLE = 256
OVERLAP_S = 0.1  # agent audio this close before a line's end means it talked over the line


@attrs.frozen(eq=False)
class Segment:
    """A stretch of agent speech: call times and its 8 kHz samples."""

    start: float
    end: float
    pcm: npt.NDArray[np.int16]


@attrs.frozen
class TranscriptEntry:
    start: float
    end: float
    speaker: Literal["caller", "agent"]
    text: str


@attrs.frozen
class LineLatency:
    """Line ``index`` ended at ``line_end``; the agent's next audible sample came at
    ``answer_at`` (None: no answer before the next line or the end of the call).
    ``overlapped``: the agent was talking as the line ended (it talked over the caller), so
    there is no voice-to-voice latency to measure."""

    index: int
    label: str
    line_end: float
    answer_at: float | None
    overlapped: bool = False

    @property
    def latency(self) -> float | None:
        if self.answer_at is None or self.overlapped:
            return None
        return self.answer_at - self.line_end


@attrs.frozen
class CallReport:
    transcript: list[TranscriptEntry]
    latencies: list[LineLatency]
    notes: list[str] = attrs.Factory(list)

    @property
    def mean_latency(self) -> float | None:
        """Mean over the answered lines; None if none was answered."""
        values = [x.latency for x in self.latencies if x.latency is not None]
        return sum(values) / len(values) if values else None


# --------------------------------------------------------------------------------------------
# The recording
# --------------------------------------------------------------------------------------------


def caller_track(caller_audio: bytes | bytearray) -> npt.NDArray[np.int16]:
    """The caller's side as 8 kHz PCM: every frame sent, back to back from call time 0."""
    return ulaw_decode(bytes(caller_audio))


def agent_track(played: Sequence[PlayedAudio], length: int = 0) -> npt.NDArray[np.int16]:
    """The agent's side as 8 kHz PCM: each played piece where it played, silence elsewhere;
    at least ``length`` samples long."""
    end = max([length, *(round(p.start * MULAW_RATE) + len(p.data) for p in played)])
    track = np.zeros(end, np.int16)
    for piece in played:
        at = round(piece.start * MULAW_RATE)
        track[at : at + len(piece.data)] = ulaw_decode(piece.data)
    return track


def stereo(record: CallRecord) -> npt.NDArray[np.int16]:
    """The call as ``(n, 2)`` samples at 8 kHz: caller left, agent right."""
    left = caller_track(record.caller_audio)
    return interleave(left, agent_track(record.playout.played, len(left)))


def write_recording(path: str | os.PathLike[str], record: CallRecord) -> None:
    """Write the call as a stereo 8 kHz WAV (caller left, agent right)."""
    write_wav(path, stereo(record), MULAW_RATE)


# --------------------------------------------------------------------------------------------
# Agent speech: segments and recognition
# --------------------------------------------------------------------------------------------


def energy_segments(
    pcm: npt.NDArray[np.int16],
    *,
    threshold_dbfs: float = SPEECH_DBFS,
    hangover_s: float = 0.3,
    min_s: float = 0.1,
) -> list[Segment]:
    """Stretches of 8 kHz ``pcm`` whose 20 ms frames reach ``threshold_dbfs``, joined across
    gaps up to ``hangover_s``; shorter than ``min_s`` are dropped (clicks)."""
    spans: list[list[int]] = []  # [first, last] speech frame
    gap = round(hangover_s * MULAW_RATE / FRAME_BYTES)
    for i in range(len(pcm) // FRAME_BYTES):
        if rms_dbfs(pcm[i * FRAME_BYTES : (i + 1) * FRAME_BYTES]) < threshold_dbfs:
            continue
        if spans and i - spans[-1][1] <= gap + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    segments = []
    for first, last in spans:
        a, b = first * FRAME_BYTES, (last + 1) * FRAME_BYTES
        if (b - a) / MULAW_RATE >= min_s:
            segments.append(Segment(a / MULAW_RATE, b / MULAW_RATE, pcm[a:b]))
    return segments


def _detector_segments(pcm: npt.NDArray[np.int16]) -> list[Segment]:
    """Segments by the speech detector."""
    detector = SpeechDetector(sample_rate=MULAW_RATE)
    bounds: list[list[float]] = []
    events: list[object] = []
    for offset in range(0, len(pcm), FRAME_BYTES):
        events += detector.feed(pcm[offset : offset + FRAME_BYTES])
    events += detector.finish()
    for event in events:
        if isinstance(event, SpeechStarted):
            bounds.append([event.at_ms / 1000, len(pcm) / MULAW_RATE])
        elif isinstance(event, SpeechEnded) and bounds:
            bounds[-1][1] = event.at_ms / 1000
    segments = []
    for start, end in bounds:
        a, b = round(start * MULAW_RATE), round(end * MULAW_RATE)
        if b > a:
            segments.append(Segment(start, end, pcm[a:b]))
    return segments


def _to_16k(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    resampler = StreamResampler(MULAW_RATE, 16000)
    return np.concatenate([resampler.process(pcm), resampler.flush()])


def turns(
    segments: Sequence[Segment], timings: Sequence[LineTiming], agent: npt.NDArray[np.int16]
) -> list[Segment]:
    """The agent's segments joined into turns: everything it said between two caller lines
    (pauses at commas and full stops split a reply into several segments; a reply is
    recognised best whole)."""
    starts = [timing.start for timing in timings]
    joined: list[Segment] = []
    for segment in segments:
        if joined and not any(joined[-1].end <= start < segment.start for start in starts):
            first = joined[-1].start
            a, b = round(first * MULAW_RATE), round(segment.end * MULAW_RATE)
            joined[-1] = Segment(first, segment.end, agent[a:b])
        else:
            joined.append(segment)
    return joined


def _placeholder(segment: Segment) -> str:
    return f"[agent audio {segment.end - segment.start:.1f} s]"


# --------------------------------------------------------------------------------------------
# Latency and the report
# --------------------------------------------------------------------------------------------


def latencies(
    timings: Sequence[LineTiming], agent: npt.NDArray[np.int16], *, call_end: float | None = None
) -> list[LineLatency]:
    """For each line, the agent's first audible sample after its end and before the next
    line starts (or ``call_end``). A line the agent was still talking over in its last
    ``OVERLAP_S`` is marked ``overlapped`` instead."""
    results = []
    for i, timing in enumerate(timings):
        stop = timings[i + 1].start if i + 1 < len(timings) else call_end
        a = max(0, round(timing.end * MULAW_RATE))
        b = len(agent) if stop is None else min(len(agent), round(stop * MULAW_RATE))
        audible = np.flatnonzero(np.abs(agent[a:b].astype(np.int32)) >= AUDIBLE_SAMPLE)
        answer = (a + int(audible[0])) / MULAW_RATE if audible.size else None
        tail = agent[max(0, a - round(OVERLAP_S * MULAW_RATE)) : a].astype(np.int32)
        overlapped = bool((np.abs(tail) >= AUDIBLE_SAMPLE).any())
        results.append(LineLatency(timing.index, timing.label, timing.end, answer, overlapped))
    return results


def build_report(
    record: CallRecord,
    *,
    speech: bool = True,
    transcriber: Transcriber | None = None,
) -> CallReport:
    """The transcript and latencies of a finished call. Blocking (speech recognition).

    With ``speech`` agent segments come from the speech detector, are joined into turns and
    transcribed (by ``transcriber``, or the bundled model loaded here, about 0.5 s);
    otherwise they come from signal levels and show as ``[agent audio 1.2 s]``. Recognition
    problems do not fail the report: the segment shows as a placeholder and
    :attr:`CallReport.notes` says why.
    """
    notes = [f"{t:.2f} s: {text}" for t, text in record.notes]
    left = caller_track(record.caller_audio)
    agent = agent_track(record.playout.played, len(left))
    segments: list[Segment] | None = None
    # A broken speech engine must not lose the call's report: any failure falls back to
    # energy segments and placeholders, and the notes say why.
    try:
        segments = _detector_segments(agent) if speech else None
    except Exception as exc:
        notes.append(f"speech detection failed ({type(exc).__name__}: {exc}); used levels")
    if segments is None:
        segments = energy_segments(agent)
    if speech:
        segments = turns(segments, record.timings, agent)
    texts = [_placeholder(segment) for segment in segments]
    if segments and speech:
        try:
            ears = transcriber if transcriber is not None else Transcriber()
            for i, segment in enumerate(segments):
                text = ears.transcribe(_to_16k(segment.pcm)).text.strip()
                if text:
                    texts[i] = text
        except Exception as exc:
            notes.append(f"speech recognition failed: {type(exc).__name__}: {exc}")
    transcript = [
        TranscriptEntry(timing.start, timing.end, "caller", timing.label)
        for timing in record.timings
    ]
    transcript += [
        TranscriptEntry(segment.start, segment.end, "agent", text)
        for segment, text in zip(segments, texts, strict=True)
    ]
    transcript.sort(key=lambda entry: (entry.start, entry.speaker))
    return CallReport(
        transcript=transcript,
        latencies=latencies(record.timings, agent, call_end=record.duration),
        notes=notes,
    )


def format_report(report: CallReport) -> str:
    """The transcript and the latency table as text, times in seconds of the call."""
    lines = ["transcript (seconds into the call):"]
    for entry in report.transcript:
        lines.append(f"  {entry.start:7.2f} - {entry.end:7.2f}  {entry.speaker:<6}  {entry.text}")
    if not report.transcript:
        lines.append("  (nothing was said)")
    if report.latencies:
        lines.append("latency, end of each caller line to the agent's next audio:")
        for item in report.latencies:
            if item.overlapped:
                value = "talked over"
            elif item.latency is None:
                value = "no answer"
            else:
                value = f"{item.latency:5.2f} s"
            lines.append(f"  {f'line {item.index + 1}':<8} {value:>11}  {item.label}")
        mean = report.mean_latency
        timed = sum(1 for item in report.latencies if item.latency is not None)
        mean_text = "n/a" if mean is None else f"{mean:5.2f} s"
        lines.append(
            f"  {'mean':<8} {mean_text:>11}  (over {timed} of {len(report.latencies)} lines)"
        )
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)
