"""``pytest.approx`` where a value object, tuple or list holds a float."""

from __future__ import annotations

from typing import cast

import pytest


def approx_float(expected: float) -> float:
    """Equal to any float near ``expected`` (pytest's default tolerance).

    Typed as the float it stands in for, so ``Echo("a", approx_float(0.1))`` type-checks as
    an ``Echo``; comparisons behave exactly as with ``pytest.approx``.
    """
    return cast("float", pytest.approx(expected))
