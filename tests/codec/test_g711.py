"""G.711: bit-exact with audioop (live when it exists, via golden tables always)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hotelvoice.codec import g711

audioop: ModuleType | None
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
except ImportError:  # Python 3.13+
    audioop = None

GOLDEN = Path(__file__).parent / "golden" / "g711.npz"
# Entry k is the int16 sample whose bit pattern (uint16 view) is k: the encode tables' order.
ALL_SAMPLES = np.arange(65536, dtype=np.uint16).view(np.int16)
ALL_CODES = bytes(range(256))

Encode = Callable[[npt.NDArray[np.int16]], bytes]
Decode = Callable[[bytes | bytearray | memoryview], npt.NDArray[np.int16]]
LAWS: dict[str, tuple[Encode, Decode]] = {
    "ulaw": (g711.ulaw_encode, g711.ulaw_decode),
    "alaw": (g711.alaw_encode, g711.alaw_decode),
}
law_names = pytest.mark.parametrize("law", sorted(LAWS))


@pytest.fixture(scope="module")
def golden() -> dict[str, npt.NDArray[np.generic]]:
    with np.load(GOLDEN) as data:
        return {name: data[name] for name in data.files}


@pytest.fixture
def live_audioop() -> ModuleType:
    if audioop is None:
        pytest.skip("audioop is not importable (removed in Python 3.13); golden tables cover this")
    return audioop


def codes_of(data: bytes) -> npt.NDArray[np.uint8]:
    return np.frombuffer(data, np.uint8)


# --- Exactness -----------------------------------------------------------------------------


def test_golden_file_has_the_documented_layout(golden: dict[str, npt.NDArray[np.generic]]) -> None:
    assert sorted(golden) == ["alaw_decode", "alaw_encode", "ulaw_decode", "ulaw_encode"]
    for law in LAWS:
        assert golden[f"{law}_encode"].dtype == np.uint8
        assert golden[f"{law}_encode"].shape == (65536,)
        assert golden[f"{law}_decode"].dtype == np.int16
        assert golden[f"{law}_decode"].shape == (256,)


@law_names
def test_encode_matches_golden_on_every_int16(
    law: str, golden: dict[str, npt.NDArray[np.generic]]
) -> None:
    encode, _ = LAWS[law]
    got = codes_of(encode(ALL_SAMPLES))
    expected = golden[f"{law}_encode"]
    mismatches = np.flatnonzero(got != expected)
    assert mismatches.size == 0, (
        f"{mismatches.size} samples differ, first {ALL_SAMPLES[mismatches[:5]]}"
    )


@law_names
def test_decode_matches_golden_on_every_code(
    law: str, golden: dict[str, npt.NDArray[np.generic]]
) -> None:
    _, decode = LAWS[law]
    np.testing.assert_array_equal(decode(ALL_CODES), golden[f"{law}_decode"])


@law_names
def test_module_tables_are_the_golden_tables(
    law: str, golden: dict[str, npt.NDArray[np.generic]]
) -> None:
    encode_table = getattr(g711, f"{law.upper()}_ENCODE_TABLE")
    decode_table = getattr(g711, f"{law.upper()}_DECODE_TABLE")
    assert encode_table.dtype == np.uint8
    assert decode_table.dtype == np.int16
    np.testing.assert_array_equal(encode_table, golden[f"{law}_encode"])
    np.testing.assert_array_equal(decode_table, golden[f"{law}_decode"])


@law_names
def test_encode_matches_live_audioop_on_every_int16(law: str, live_audioop: ModuleType) -> None:
    encode, _ = LAWS[law]
    lin2 = getattr(live_audioop, f"lin2{law}")
    assert encode(ALL_SAMPLES) == lin2(ALL_SAMPLES.tobytes(), 2)


@law_names
def test_decode_matches_live_audioop_on_every_code(law: str, live_audioop: ModuleType) -> None:
    _, decode = LAWS[law]
    to_lin = getattr(live_audioop, f"{law}2lin")
    assert decode(ALL_CODES).tobytes() == to_lin(ALL_CODES, 2)


def test_golden_tables_are_what_audioop_gives_today(
    live_audioop: ModuleType, golden: dict[str, npt.NDArray[np.generic]]
) -> None:
    # Guards the committed file itself: it must still be audioop's output, not ours.
    samples = ALL_SAMPLES.tobytes()
    assert golden["ulaw_encode"].tobytes() == live_audioop.lin2ulaw(samples, 2)
    assert golden["alaw_encode"].tobytes() == live_audioop.lin2alaw(samples, 2)
    assert golden["ulaw_decode"].astype(np.int16).tobytes() == live_audioop.ulaw2lin(ALL_CODES, 2)
    assert golden["alaw_decode"].astype(np.int16).tobytes() == live_audioop.alaw2lin(ALL_CODES, 2)


# --- Known values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "ulaw", "alaw"),
    [
        (0, 0xFF, 0xD5),  # the silence codes every G.711 implementation agrees on
        (32767, 0x80, 0xAA),  # positive full scale
        (-32768, 0x00, 0x2A),  # negative full scale
        (-1, 0x7E, 0x55),  # audioop floors negatives: -1 is not treated as 0
    ],
)
def test_known_codes(sample: int, ulaw: int, alaw: int) -> None:
    pcm = np.array([sample], np.int16)
    assert g711.ulaw_encode(pcm) == bytes([ulaw])
    assert g711.alaw_encode(pcm) == bytes([alaw])


def test_ulaw_decode_extremes_and_zeroes() -> None:
    decoded = g711.ulaw_decode(bytes([0x00, 0x80, 0xFF, 0x7F]))
    # ±32124 is μ-law's largest magnitude; 0xFF and 0x7F are its two zeroes.
    assert decoded.tolist() == [-32124, 32124, 0, 0]


def test_alaw_decode_extremes_and_smallest_steps() -> None:
    decoded = g711.alaw_decode(bytes([0xAA, 0x2A, 0xD5, 0x55]))
    # A-law has no zero: its smallest magnitudes are ±8.
    assert decoded.tolist() == [32256, -32256, 8, -8]


# --- Round trips and shape of the quantiser ------------------------------------------------


@law_names
def test_decode_encode_decode_is_stable_for_every_code(law: str) -> None:
    encode, decode = LAWS[law]
    once = decode(ALL_CODES)
    np.testing.assert_array_equal(decode(encode(once)), once)


def test_ulaw_codes_round_trip_except_negative_zero() -> None:
    back = codes_of(g711.ulaw_encode(g711.ulaw_decode(ALL_CODES)))
    # 0x7F decodes to 0, which encodes as the positive zero 0xFF.
    assert np.flatnonzero(back != np.arange(256)).tolist() == [0x7F]
    assert back[0x7F] == 0xFF


def test_alaw_codes_all_round_trip() -> None:
    back = codes_of(g711.alaw_encode(g711.alaw_decode(ALL_CODES)))
    np.testing.assert_array_equal(back, np.arange(256))


@law_names
def test_quantiser_is_monotonic(law: str) -> None:
    encode, decode = LAWS[law]
    ascending = np.arange(-32768, 32768).astype(np.int16)
    steps = np.diff(decode(encode(ascending)).astype(np.int32))
    assert (steps >= 0).all()
    # 256 codes, minus μ-law's duplicate zero: 255 or 256 distinct levels.
    assert len(np.unique(decode(encode(ascending)))) == (255 if law == "ulaw" else 256)


@law_names
@given(pcm=hnp.arrays(np.int16, st.integers(0, 400)))
def test_reencoding_decoded_audio_is_lossless(law: str, pcm: npt.NDArray[np.int16]) -> None:
    # Transcoding a second time must not degrade further (a relay re-encodes decoded audio).
    encode, decode = LAWS[law]
    first = encode(pcm)
    assert len(first) == pcm.size
    np.testing.assert_array_equal(decode(encode(decode(first))), decode(first))


@law_names
def test_error_is_bounded_and_smallest_near_zero(law: str) -> None:
    encode, decode = LAWS[law]
    samples = np.arange(-32768, 32768).astype(np.int16)
    error = np.abs(decode(encode(samples)).astype(np.int32) - samples)
    in_range = np.abs(samples.astype(np.int32)) <= 32124  # μ-law's largest level
    # Half the top segment's step (1024), plus μ-law's 2 bits of flooring to 14 bits.
    assert error[in_range].max() <= 512 + 3
    assert error.max() <= 32768 - 32124  # beyond that, clipping to μ-law's largest level
    small = np.abs(samples.astype(np.int32)) < 64
    assert error[small].max() <= 8  # fine steps near zero: the point of companding


# --- Inputs --------------------------------------------------------------------------------


@law_names
def test_encode_of_strided_and_reversed_views(law: str) -> None:
    encode, _ = LAWS[law]
    base = np.random.default_rng(7).integers(-32768, 32768, 1000).astype(np.int16)
    for view in (base[::3], base[::-1], base[10:500:7]):
        assert not view.flags.c_contiguous
        assert encode(view) == encode(np.ascontiguousarray(view))


@law_names
def test_encode_of_2d_arrays_is_c_order(law: str) -> None:
    encode, _ = LAWS[law]
    stereo = np.arange(-600, 600, dtype=np.int16).reshape(600, 2)
    fortran = np.asfortranarray(stereo)
    assert encode(fortran) == encode(stereo) == encode(stereo.ravel())
    # A column of an interleaved recording: a strided 1-D view.
    assert encode(stereo[:, 1]) == encode(stereo.ravel()[1::2])


@law_names
def test_encode_of_read_only_array(law: str) -> None:
    encode, _ = LAWS[law]
    pcm = np.array([0, 1000, -1000], np.int16)
    pcm.setflags(write=False)
    assert len(encode(pcm)) == 3


@law_names
def test_empty_input(law: str) -> None:
    encode, decode = LAWS[law]
    assert encode(np.zeros(0, np.int16)) == b""
    empty = decode(b"")
    assert empty.dtype == np.int16
    assert empty.shape == (0,)


@law_names
def test_encode_of_a_zero_dimensional_array(law: str) -> None:
    encode, _ = LAWS[law]
    assert encode(np.array(1234, np.int16)) == encode(np.array([1234], np.int16))


@law_names
@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.float64, np.uint16, np.int8, ">i2"])
def test_encode_rejects_other_dtypes(law: str, dtype: npt.DTypeLike) -> None:
    encode, _ = LAWS[law]
    with pytest.raises(TypeError, match=f"{law}_encode expects a numpy int16 array"):
        encode(np.zeros(4, dtype))


@law_names
def test_encode_rejects_non_arrays(law: str) -> None:
    encode, _ = LAWS[law]
    with pytest.raises(TypeError, match="got list"):
        encode([0, 1, 2])  # type: ignore[arg-type]


@law_names
def test_decode_accepts_any_bytes_like(law: str) -> None:
    _, decode = LAWS[law]
    expected = decode(ALL_CODES)
    np.testing.assert_array_equal(decode(bytearray(ALL_CODES)), expected)
    np.testing.assert_array_equal(decode(memoryview(ALL_CODES)), expected)


@law_names
def test_decode_returns_a_fresh_writable_array(law: str) -> None:
    _, decode = LAWS[law]
    out = decode(b"\x00\x01")
    assert out.flags.writeable
    expected = out.tolist()
    out[:] = 0
    assert decode(b"\x00\x01").tolist() == expected  # the table was not written through


def test_tables_are_read_only() -> None:
    for name in (
        "ULAW_ENCODE_TABLE",
        "ULAW_DECODE_TABLE",
        "ALAW_ENCODE_TABLE",
        "ALAW_DECODE_TABLE",
    ):
        table = getattr(g711, name)
        assert not table.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            table[0] = 1
