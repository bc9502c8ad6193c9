"""The base layer's small helpers: ids, the wall clock, loopback hosts, per-kind log limits."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hotelvoice.calls.stats import LOGGED_PROBLEMS_PER_KIND, CallStats
from hotelvoice.clock import utc_now
from hotelvoice.ids import new_id, new_sid
from hotelvoice.loopback import is_loopback, is_loopback_url


def test_ids_carry_their_prefix_and_differ() -> None:
    assert re.fullmatch(r"res_[0-9a-f]{16}", new_id("res"))
    assert re.fullmatch(r"CA[0-9a-f]{32}", new_sid("CA"))
    assert new_id("item") != new_id("item")


def test_utc_now_is_timezone_aware() -> None:
    assert utc_now().tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("10.0.0.1", False),
        ("hotel.example.com", False),
        ("127.example.com", False),  # a name, not an address
        ("127.hotel.example.com", False),
        ("localhost.evil.com", False),
        ("evil-localhost", False),
        ("[::1]", True),  # a bracketed literal, as in a URL or a bind address
        ("::ffff:127.0.0.1", True),  # IPv4-mapped
        ("::ffff:10.0.0.1", False),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_loopback_urls() -> None:
    assert is_loopback_url("http://[::1]:8080/x")
    assert is_loopback_url("http://localhost")
    assert not is_loopback_url("https://hotel.example.com")
    assert not is_loopback_url("not a url")
    assert not is_loopback_url("https://127.hotel.example.com")
    assert not is_loopback_url("http://[::1")  # malformed


def test_problems_are_all_counted_and_the_first_few_of_each_kind_logged() -> None:
    stats = CallStats(started_at=0.0)
    logged = [stats.problem("bad") for _ in range(LOGGED_PROBLEMS_PER_KIND + 2)]
    assert logged == [True] * LOGGED_PROBLEMS_PER_KIND + [False, False]
    assert stats.problem("other")
    assert stats.problems == {"bad": LOGGED_PROBLEMS_PER_KIND + 2, "other": 1}
