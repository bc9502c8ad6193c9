"""PCM16 WAV files: round trips, files from the stdlib writer, refusal of everything else."""

from __future__ import annotations

import struct
import tempfile
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hotelvoice.codec.wav import interleave, read_wav, write_wav


def ramp(n: int, start: int = -1000) -> npt.NDArray[np.int16]:
    return np.arange(start, start + n).astype(np.int16)


# --- Round trips ---------------------------------------------------------------------------


def test_mono_round_trip(tmp_path: Path) -> None:
    pcm = np.array([0, 1, -1, 32767, -32768, 12345], np.int16)
    path = tmp_path / "mono.wav"
    write_wav(path, pcm, 8000)
    back, rate = read_wav(path)
    assert rate == 8000
    assert back.dtype == np.int16
    assert back.shape == (6,)
    np.testing.assert_array_equal(back, pcm)


def test_stereo_round_trip_keeps_channels_apart(tmp_path: Path) -> None:
    caller, agent = ramp(500), ramp(500, start=20000)
    stereo = np.stack([caller, agent], axis=1)
    path = tmp_path / "call.wav"
    write_wav(path, stereo, 24000)
    back, rate = read_wav(path)
    assert rate == 24000
    assert back.shape == (500, 2)
    np.testing.assert_array_equal(back[:, 0], caller)
    np.testing.assert_array_equal(back[:, 1], agent)


def test_many_channels_and_str_paths(tmp_path: Path) -> None:
    pcm = ramp(300).reshape(100, 3)
    path = str(tmp_path / "three.wav")
    write_wav(path, pcm, 16000)
    back, rate = read_wav(path)
    assert (rate, back.shape) == (16000, (100, 3))
    np.testing.assert_array_equal(back, pcm)


def test_non_contiguous_input_is_written_in_order(tmp_path: Path) -> None:
    pcm = ramp(1000)
    write_wav(tmp_path / "strided.wav", pcm[::-2], 8000)
    write_wav(tmp_path / "fortran.wav", np.asfortranarray(pcm.reshape(500, 2)), 8000)
    np.testing.assert_array_equal(read_wav(tmp_path / "strided.wav")[0], pcm[::-2])
    np.testing.assert_array_equal(read_wav(tmp_path / "fortran.wav")[0], pcm.reshape(500, 2))


def test_empty_recording(tmp_path: Path) -> None:
    write_wav(tmp_path / "empty.wav", np.zeros(0, np.int16), 8000)
    back, rate = read_wav(tmp_path / "empty.wav")
    assert (back.shape, rate) == ((0,), 8000)
    write_wav(tmp_path / "empty2.wav", np.zeros((0, 2), np.int16), 8000)
    assert read_wav(tmp_path / "empty2.wav")[0].shape == (0, 2)


def test_read_returns_a_writable_array(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", ramp(10), 8000)
    back, _ = read_wav(tmp_path / "a.wav")
    back[0] = 7  # callers may post-process in place
    assert back[0] == 7


@given(
    pcm=hnp.arrays(np.int16, st.tuples(st.integers(0, 200), st.integers(1, 4))),
    rate=st.sampled_from([8000, 16000, 24000, 44100]),
)
def test_round_trip_any_shape(pcm: npt.NDArray[np.int16], rate: int) -> None:
    # A fresh directory per example: hypothesis runs many examples in one test call.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.wav"
        data = pcm if pcm.shape[1] > 1 else pcm[:, 0]
        write_wav(path, data, rate)
        back, back_rate = read_wav(path)
    assert back_rate == rate
    assert back.shape == data.shape
    np.testing.assert_array_equal(back, data)


# --- Interoperating with the stdlib --------------------------------------------------------


def test_reads_a_file_written_by_wave(tmp_path: Path) -> None:
    path = tmp_path / "stdlib.wav"
    samples = [0, 256, -256, 32767, -32768, 1, 2, 3]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(struct.pack("<8h", *samples))
    pcm, rate = read_wav(path)
    assert rate == 8000
    assert pcm.tolist() == [[0, 256], [-256, 32767], [-32768, 1], [2, 3]]


def test_written_file_is_what_wave_expects(tmp_path: Path) -> None:
    path = tmp_path / "ours.wav"
    write_wav(path, np.array([[1, -2], [3, -4]], np.int16), 22050)
    with wave.open(str(path), "rb") as src:
        assert src.getnchannels() == 2
        assert src.getsampwidth() == 2
        assert src.getframerate() == 22050
        assert src.getnframes() == 2
        assert src.readframes(2) == struct.pack("<4h", 1, -2, 3, -4)


# --- Refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "bits"), [(1, 8), (3, 24), (4, 32)])
def test_rejects_other_sample_widths(tmp_path: Path, width: int, bits: int) -> None:
    path = tmp_path / f"{bits}bit.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(width)
        out.setframerate(8000)
        out.writeframes(b"\x80" * width * 10)
    with pytest.raises(ValueError, match=f"expected 16-bit PCM, got {bits}-bit"):
        read_wav(path)


def wav_header(fmt_tag: int, bits: int, data: bytes) -> bytes:
    fmt = struct.pack("<HHIIHH", fmt_tag, 1, 8000, 8000 * bits // 8, bits // 8, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(("tag", "bits"), [(3, 32), (6, 8), (7, 8)])  # float, A-law, μ-law
def test_rejects_non_pcm_formats(tmp_path: Path, tag: int, bits: int) -> None:
    path = tmp_path / "coded.wav"
    path.write_bytes(wav_header(tag, bits, b"\x00" * 16))
    with pytest.raises(ValueError, match="not a 16-bit PCM WAV file") as info:
        read_wav(path)
    assert str(tag) in str(info.value)  # wave names the format tag it does not know


def test_rejects_files_that_are_not_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_bytes(b"ID3\x03\x00" + b"\x00" * 100)
    with pytest.raises(ValueError, match=r"not a 16-bit PCM WAV file.*RIFF"):
        read_wav(path)


def test_rejects_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="not a 16-bit PCM WAV file"):
        read_wav(path)


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_wav(tmp_path / "nowhere.wav")


def test_truncated_data_keeps_whole_frames(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    write_wav(path, ramp(20).reshape(10, 2), 8000)
    path.write_bytes(path.read_bytes()[:-3])  # a recording cut off mid-frame
    pcm, _ = read_wav(path)
    np.testing.assert_array_equal(pcm, ramp(20).reshape(10, 2)[:9])


def test_write_rejects_bad_arguments(tmp_path: Path) -> None:
    path = tmp_path / "bad.wav"
    with pytest.raises(TypeError, match="write_wav expects a numpy int16 array, got float64"):
        write_wav(path, np.zeros(10), 8000)  # type: ignore[arg-type]  # the refusal is tested
    with pytest.raises(ValueError, match=r"expected shape \(n,\) or \(n, channels\)"):
        write_wav(path, np.zeros((2, 2, 2), np.int16), 8000)
    with pytest.raises(ValueError, match=r"expected shape"):
        write_wav(path, np.zeros((5, 0), np.int16), 8000)
    with pytest.raises(ValueError, match="sample rate must be positive"):
        write_wav(path, np.zeros(10, np.int16), 0)
    assert not path.exists()  # nothing half-written


# --- interleave ----------------------------------------------------------------------------


def test_interleave_pads_the_shorter_leg_with_silence() -> None:
    left = np.array([1, 2, 3], np.int16)
    right = np.array([-1], np.int16)
    assert interleave(left, right).tolist() == [[1, -1], [2, 0], [3, 0]]
    assert interleave(right, left).tolist() == [[-1, 1], [0, 2], [0, 3]]


def test_interleave_equal_lengths_and_empty() -> None:
    left, right = ramp(5), ramp(5, start=100)
    out = interleave(left, right)
    assert out.dtype == np.int16
    assert out.shape == (5, 2)
    np.testing.assert_array_equal(out[:, 0], left)
    np.testing.assert_array_equal(out[:, 1], right)
    assert interleave(np.zeros(0, np.int16), np.zeros(0, np.int16)).shape == (0, 2)


def test_interleave_rejects_bad_inputs() -> None:
    with pytest.raises(TypeError, match="int16"):
        interleave(np.zeros(3, np.int32), np.zeros(3, np.int16))
    with pytest.raises(ValueError, match="two 1-D arrays"):
        interleave(np.zeros((3, 2), np.int16), np.zeros(3, np.int16))


def test_interleaved_recording_round_trips(tmp_path: Path) -> None:
    caller, agent = ramp(800), ramp(1200, start=5000)
    write_wav(tmp_path / "call.wav", interleave(caller, agent), 8000)
    pcm, _ = read_wav(tmp_path / "call.wav")
    np.testing.assert_array_equal(pcm[:800, 0], caller)
    assert not pcm[800:, 0].any()
    np.testing.assert_array_equal(pcm[:, 1], agent)
