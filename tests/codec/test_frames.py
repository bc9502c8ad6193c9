"""Payload plumbing: base64, PCM16 bytes, frame sizes, splitting and re-assembling frames."""

from __future__ import annotations

import base64
import sys

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hotelvoice.codec.frames import (
    FrameAssembler,
    b64_to_bytes,
    bytes_to_b64,
    duration_ms,
    frame_bytes,
    join_frames,
    pcm16_from_bytes,
    pcm16_to_bytes,
    split_frames,
)

# --- base64 --------------------------------------------------------------------------------


def test_b64_known_values() -> None:
    assert bytes_to_b64(b"\x00\x01\x02\xff") == "AAEC/w=="
    assert b64_to_bytes("AAEC/w==") == b"\x00\x01\x02\xff"
    assert bytes_to_b64(b"") == ""
    assert b64_to_bytes("") == b""


def test_bytes_to_b64_has_no_newline_even_for_long_payloads() -> None:
    text = bytes_to_b64(bytes(range(256)) * 4)  # MIME encoders would wrap this
    assert "\n" not in text
    assert text == base64.b64encode(bytes(range(256)) * 4).decode("ascii")


@given(st.binary(max_size=2000))
def test_b64_round_trip_matches_stdlib(data: bytes) -> None:
    text = bytes_to_b64(data)
    assert isinstance(text, str)
    assert text == base64.b64encode(data).decode("ascii")
    assert b64_to_bytes(text) == data


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("AAE", "Incorrect padding"),  # truncated
        ("AA==AA", "Excess data after padding"),  # two payloads glued together
        ("AAEC\n", "Only base64 data"),  # stray characters are not skipped silently
        ("AA EC", "Only base64 data"),
        ("!!!!", "Only base64 data"),  # the lenient decoder would return b""
        ("AAéC", "ASCII"),
    ],
)
def test_b64_to_bytes_rejects_bad_payloads(payload: str, reason: str) -> None:
    with pytest.raises(ValueError, match="invalid base64 audio payload") as info:
        b64_to_bytes(payload)
    assert type(info.value) is ValueError  # not binascii.Error: one exception type to catch
    assert reason in str(info.value)


# --- PCM16 bytes ---------------------------------------------------------------------------


def test_pcm16_is_little_endian() -> None:
    pcm = np.array([1, -2, 0x1234, -32768, 32767], np.int16)
    data = pcm16_to_bytes(pcm)
    assert data == b"\x01\x00\xfe\xff\x34\x12\x00\x80\xff\x7f"
    back = pcm16_from_bytes(data)
    assert back.dtype == np.int16
    assert back.dtype.isnative
    assert back.tolist() == pcm.tolist()


@pytest.mark.skipif(sys.byteorder != "little", reason="the no-copy view only exists on LE hosts")
def test_pcm16_from_bytes_is_a_read_only_view() -> None:
    data = bytes(range(8))
    pcm = pcm16_from_bytes(data)
    assert not pcm.flags.owndata
    assert not pcm.flags.writeable


def test_pcm16_from_bytes_accepts_bytearray_and_memoryview() -> None:
    data = b"\x01\x00\x02\x00"
    assert pcm16_from_bytes(bytearray(data)).tolist() == [1, 2]
    assert pcm16_from_bytes(memoryview(data)).tolist() == [1, 2]


def test_pcm16_from_bytes_rejects_odd_lengths() -> None:
    with pytest.raises(ValueError, match="even number of bytes, got 3"):
        pcm16_from_bytes(b"\x00\x01\x02")


def test_pcm16_empty() -> None:
    assert pcm16_from_bytes(b"").shape == (0,)
    assert pcm16_to_bytes(np.zeros(0, np.int16)) == b""


def test_pcm16_to_bytes_of_strided_and_2d_arrays() -> None:
    pcm = np.arange(-50, 50, dtype=np.int16)
    expected = pcm16_to_bytes(np.ascontiguousarray(pcm[::-3]))
    assert pcm16_to_bytes(pcm[::-3]) == expected
    assert pcm16_to_bytes(pcm.reshape(50, 2)) == pcm16_to_bytes(pcm)
    assert pcm16_to_bytes(np.asfortranarray(pcm.reshape(50, 2))) == pcm16_to_bytes(pcm)


@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.uint16, ">i2"])
def test_pcm16_to_bytes_rejects_other_dtypes(dtype: npt.DTypeLike) -> None:
    with pytest.raises(TypeError, match="pcm16_to_bytes expects a numpy int16 array"):
        pcm16_to_bytes(np.zeros(3, dtype))


@given(hnp.arrays(np.int16, st.integers(0, 500)))
def test_pcm16_round_trip(pcm: npt.NDArray[np.int16]) -> None:
    data = pcm16_to_bytes(pcm)
    assert len(data) == 2 * pcm.size
    np.testing.assert_array_equal(pcm16_from_bytes(data), pcm)


# --- Sizes and durations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "ms", "width", "expected"),
    [
        (8000, 20, 1, 160),  # a Twilio μ-law media frame
        (24000, 20, 2, 960),  # a Realtime PCM16 frame
        (16000, 20, 2, 640),
        (8000, 10, 2, 160),
        (22050, 20, 2, 882),
        (8000, 1000, 1, 8000),
    ],
)
def test_frame_bytes(rate: int, ms: int, width: int, expected: int) -> None:
    assert frame_bytes(rate, ms, width) == expected


def test_frame_bytes_defaults_to_20_ms_pcm16() -> None:
    assert frame_bytes(24000) == 960


def test_frame_bytes_rejects_fractional_sample_counts() -> None:
    with pytest.raises(ValueError, match="not a whole number of samples"):
        frame_bytes(11025, 20)


@pytest.mark.parametrize(("rate", "ms", "width"), [(0, 20, 2), (8000, 0, 2), (8000, 20, 0)])
def test_frame_bytes_rejects_non_positive_arguments(rate: int, ms: int, width: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        frame_bytes(rate, ms, width)


def test_duration_ms() -> None:
    assert duration_ms(160, 8000, 1) == 20.0
    assert duration_ms(960, 24000, 2) == 20.0
    assert duration_ms(0, 8000, 1) == 0.0
    assert duration_ms(3, 24000, 2) == pytest.approx(0.0625)


def test_duration_ms_rejects_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        duration_ms(160, 0, 1)


@given(
    rate=st.sampled_from([8000, 16000, 24000, 44100, 48000]),
    ms=st.integers(1, 1000),
    width=st.sampled_from([1, 2]),
)
def test_duration_of_a_frame_is_its_length(rate: int, ms: int, width: int) -> None:
    try:
        size = frame_bytes(rate, ms, width)
    except ValueError:
        assert rate * ms % 1000 != 0
        return
    assert duration_ms(size, rate, width) == pytest.approx(ms)


# --- Splitting and joining -----------------------------------------------------------------


def test_split_frames() -> None:
    frames, rest = split_frames(b"abcdefgh", 3)
    assert frames == [b"abc", b"def"]
    assert rest == b"gh"


def test_split_frames_exact_and_short() -> None:
    assert split_frames(b"abcdef", 3) == ([b"abc", b"def"], b"")
    assert split_frames(b"ab", 3) == ([], b"ab")
    assert split_frames(b"", 3) == ([], b"")


def test_split_frames_rejects_non_positive_size() -> None:
    with pytest.raises(ValueError, match="frame size must be positive"):
        split_frames(b"abc", 0)


def test_join_frames_accepts_any_iterable() -> None:
    assert join_frames(iter([b"ab", b"", b"cd"])) == b"abcd"
    assert join_frames([]) == b""


@given(st.binary(max_size=2000), st.integers(1, 400))
def test_split_then_join_is_identity(data: bytes, size: int) -> None:
    frames, rest = split_frames(data, size)
    assert all(len(frame) == size for frame in frames)
    assert len(rest) < size
    assert join_frames(frames) + rest == data


# --- FrameAssembler ------------------------------------------------------------------------


def test_assembler_holds_back_partial_frames() -> None:
    assembler = FrameAssembler(4)
    assert assembler.size == 4
    assert assembler.push(b"ab") == []
    assert assembler.pending == 2
    assert assembler.push(b"cdefghij") == [b"abcd", b"efgh"]
    assert assembler.pending == 2
    assert assembler.push(b"kl") == [b"ijkl"]
    assert assembler.pending == 0
    assert assembler.push(b"") == []


def test_assembler_flush_returns_the_remainder_once() -> None:
    assembler = FrameAssembler(4)
    assembler.push(b"abcdef")
    assert assembler.flush() == b"ef"
    assert assembler.pending == 0
    assert assembler.flush() == b""
    assert assembler.push(b"wxyz") == [b"wxyz"]  # usable again afterwards


def test_assembler_clear_discards_the_remainder() -> None:
    assembler = FrameAssembler(4)
    assembler.push(b"abc")
    assembler.clear()
    assert assembler.pending == 0
    assert assembler.push(b"wxyz") == [b"wxyz"]  # the stale "abc" is not glued on


def test_assembler_returns_bytes_not_views() -> None:
    assembler = FrameAssembler(2)
    source = bytearray(b"abcd")
    frames = assembler.push(source)
    source[:] = b"zzzz"
    assert frames == [b"ab", b"cd"]
    assert all(type(frame) is bytes for frame in frames)


def test_assembler_rejects_non_positive_size() -> None:
    with pytest.raises(ValueError, match="frame size must be positive"):
        FrameAssembler(0)


@given(st.data(), st.binary(max_size=3000), st.integers(1, 500))
def test_assembler_matches_split_frames_for_any_chunking(
    data: st.DataObject, payload: bytes, size: int
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(payload)), max_size=20)))
    pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
    assembler = FrameAssembler(size)
    frames = [frame for piece in pieces for frame in assembler.push(piece)]
    expected_frames, expected_rest = split_frames(payload, size)
    assert frames == expected_frames
    assert assembler.pending == len(expected_rest)
    assert assembler.flush() == expected_rest
