"""The function registry: schemas derived from signatures, and an executor that turns every bad
call or broken tool into a JSON error for the model while letting cancellation through."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional

import attrs
import pydantic
import pytest
import trio
import trio.lowlevel
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from openai.types.realtime.realtime_function_tool import RealtimeFunctionTool
from openai.types.realtime.realtime_tools_config import RealtimeToolsConfig

from hotelvoice.calls.ports import (
    CallContext,
    ToolCall,
    ToolOutcome,
    ToolRegistry,
    TransferRequest,
)
from hotelvoice.hotel.registry import FunctionRegistry, ToolError

CONTEXT = CallContext(call_sid="CA123", caller="+15550001111", dialed="+15550002222")


@attrs.frozen
class Quote:
    room: str
    nights: int
    total: decimal.Decimal
    arrival: dt.date


class Board(enum.Enum):
    BREAKFAST = "breakfast"
    NONE = "none"


def tool_with(annotation: object, seen: list[object] | None = None) -> Callable[..., Any]:
    """A tool whose one parameter ``x`` carries ``annotation`` (no string evaluation needed);
    it records what it gets in ``seen`` and returns it."""

    def tool(x: Any) -> Any:
        if seen is not None:
            seen.append(x)
        return x

    tool.__annotations__ = {"x": annotation, "return": Any}
    return tool


def params_of(annotation: object) -> dict[str, Any]:
    registry = FunctionRegistry()
    registry.register(tool_with(annotation))
    schema: dict[str, Any] = registry.schema("tool")["parameters"]
    return schema


def one_param(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"x": schema},
        "required": ["x"],
        "additionalProperties": False,
    }


def arguments_of(names: dict[str, Any]) -> dict[str, Any]:
    """A tool's ``locals()`` less the test's ``seen`` list it closes over."""
    return {name: value for name, value in names.items() if name != "seen"}


async def run(
    registry: FunctionRegistry, name: str, arguments: str, *, call_id: str = "call_1"
) -> ToolOutcome:
    """The model calls tool ``name`` with ``arguments`` during the call ``CONTEXT``."""
    return await registry.execute(ToolCall(call_id, name, arguments), CONTEXT)


def tool_names(registry: FunctionRegistry) -> list[str]:
    return [tool["name"] for tool in registry.tools()]


def error_of(outcome: ToolOutcome) -> str:
    body = json.loads(outcome.output)
    assert list(body) == ["error"]
    message: str = body["error"]
    return message


# ---------------------------------------------------------------------- schema derivation


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (dt.date, {"type": "string", "format": "date"}),
        (dt.datetime, {"type": "string", "format": "date-time"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (list[dt.date], {"type": "array", "items": {"type": "string", "format": "date"}}),
        (list, {"type": "array"}),
        (list[Any], {"type": "array"}),
        (dict, {"type": "object"}),
        (dict[str, Any], {"type": "object"}),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (Literal["king", "queen"], {"type": "string", "enum": ["king", "queen"]}),
        (Literal[1, 2, 3], {"type": "integer", "enum": [1, 2, 3]}),
        (Literal[True], {"type": "boolean", "enum": [True]}),
        (str | None, {"type": ["string", "null"]}),
        (Optional[int], {"type": ["integer", "null"]}),  # noqa: UP045 - the old spelling too
        (dt.date | None, {"type": ["string", "null"], "format": "date"}),
        (
            Literal["a", "b"] | None,
            {"type": ["string", "null"], "enum": ["a", "b", None]},
        ),
        (Literal["a", None], {"type": ["string", "null"], "enum": ["a", None]}),  # noqa: PYI061 - this spelling too
        (
            list[str] | None,
            {"type": ["array", "null"], "items": {"type": "string"}},
        ),
        (
            Annotated[int, "How many adults."],
            {"type": "integer", "description": "How many adults."},
        ),
        (
            Annotated[str, "Guest name."] | None,
            {"type": ["string", "null"], "description": "Guest name."},
        ),
        (
            Annotated[int | None, object(), "Nights."],
            {"type": ["integer", "null"], "description": "Nights."},
        ),
    ],
)
def test_each_supported_annotation_has_its_schema(
    annotation: object, expected: dict[str, Any]
) -> None:
    assert params_of(annotation) == one_param(expected)


def test_source_annotations_resolve_and_defaults_are_not_required() -> None:
    registry = FunctionRegistry()

    @registry.register
    def quote(
        room: Literal["king", "queen"],
        check_in: dt.date,
        nights: int = 1,
        breakfast: bool = False,
        promo: str | None = None,
    ) -> str:
        return room

    assert registry.schema("quote") == {
        "type": "function",
        "name": "quote",
        "description": "",
        "parameters": {
            "type": "object",
            "properties": {
                "room": {"type": "string", "enum": ["king", "queen"]},
                "check_in": {"type": "string", "format": "date"},
                "nights": {"type": "integer"},
                "breakfast": {"type": "boolean"},
                "promo": {"type": ["string", "null"]},
            },
            "required": ["room", "check_in"],
            "additionalProperties": False,
        },
    }


def test_descriptions_come_from_the_docstring_summary_and_args_section() -> None:
    registry = FunctionRegistry()

    @registry.register
    def check_availability(
        check_in: dt.date,
        nights: int,
        room: Annotated[str, "Preferred room type, or any."] = "any",
    ) -> str:
        """Look up free rooms for a stay,
        with prices.

        Call this before quoting a price.

        Args:
            check_in: The first night of the stay,
                as a calendar date.
            nights (int): How many nights.
            room: Overridden by the Annotated text.

        Returns:
            A summary: rooms: and rates.
        """
        return "ok"

    tool = registry.schema("check_availability")
    assert tool["description"] == "Look up free rooms for a stay, with prices."
    properties = tool["parameters"]["properties"]
    assert (
        properties["check_in"]["description"] == "The first night of the stay, as a calendar date."
    )
    assert properties["nights"]["description"] == "How many nights."
    assert properties["room"]["description"] == "Preferred room type, or any."


def test_explicit_name_and_description_win() -> None:
    registry = FunctionRegistry()

    @registry.register(name="get_rates", description="Tonight's rates.")
    def rates() -> str:
        """Not what the model sees."""
        return "ok"

    assert tool_names(registry) == ["get_rates"]
    assert registry.schema("get_rates")["description"] == "Tonight's rates."


def test_context_parameter_is_left_out_of_the_schema_by_type_or_by_name() -> None:
    registry = FunctionRegistry(context_type=CallContext)

    @registry.register
    def by_type(call: CallContext, greeting: str) -> str:
        return greeting

    @registry.register
    def by_name(context: Any, nights: int) -> int:
        return nights

    @registry.register
    def optional_type(greeting: str, call: CallContext | None = None) -> str:
        return greeting

    assert list(registry.schema("by_type")["parameters"]["properties"]) == ["greeting"]
    assert registry.schema("by_name")["parameters"]["required"] == ["nights"]
    assert list(registry.schema("optional_type")["parameters"]["properties"]) == ["greeting"]


def test_only_one_parameter_may_take_the_context() -> None:
    registry = FunctionRegistry(context_type=CallContext)

    def greedy(call: CallContext, context: Any) -> str:
        return "ok"

    with pytest.raises(
        TypeError, match=r"only one parameter may take the context, got \['call', 'context'\]"
    ):
        registry.register(greedy)
    assert tool_names(registry) == []


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_timeouts_must_be_positive(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout_s must be positive"):
        FunctionRegistry(timeout_s=timeout)
    registry = FunctionRegistry()
    with pytest.raises(ValueError, match="tool: timeout_s must be positive"):
        registry.register(tool_with(int), timeout_s=timeout)


class Unknown:
    pass


@pytest.mark.parametrize(
    "annotation",
    [Any, tuple[int, int], int | str, dict[int, str], set[str], Unknown, Literal["a", 1], None],
)
def test_unsupported_annotation_is_a_type_error_naming_the_parameter(annotation: object) -> None:
    registry = FunctionRegistry()
    with pytest.raises(TypeError, match="parameter 'x'"):
        registry.register(tool_with(annotation))
    assert tool_names(registry) == []


def test_unannotated_and_variadic_parameters_are_refused() -> None:
    registry = FunctionRegistry()

    def bare(x, y: int) -> int:  # type: ignore[no-untyped-def]  # noqa: ANN001 - what is refused
        return y

    def variadic(**extra: int) -> int:
        return 0

    with pytest.raises(TypeError, match="'x' has no type annotation"):
        registry.register(bare)
    with pytest.raises(TypeError, match="'extra' must be passable by keyword"):
        registry.register(variadic)


def test_duplicate_and_invalid_names_are_refused() -> None:
    registry = FunctionRegistry()
    registry.register(tool_with(int))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(tool_with(str))
    with pytest.raises(ValueError, match="must be 1-64"):
        registry.register(tool_with(str), name="has space")
    assert tool_names(registry) == ["tool"]


def test_register_returns_the_function_unchanged_in_every_form() -> None:
    registry = FunctionRegistry()

    def plain(x: int) -> int:
        return x

    def named(x: int) -> int:
        return x

    def explicit(**kw: Any) -> int:
        return 0

    assert registry.register(plain) is plain
    assert registry.register(name="renamed")(named) is named
    assert registry.register(explicit, parameters={"type": "object"}) is explicit
    assert tool_names(registry) == ["plain", "renamed", "explicit"]


def test_tools_are_valid_ga_session_tools_with_no_unknown_keys() -> None:
    registry = FunctionRegistry(context_type=CallContext)

    @registry.register
    def check_availability(
        call: CallContext, check_in: dt.date, nights: int, room: str | None = None
    ) -> str:
        """Free rooms for a stay."""
        return "ok"

    registry.register(tool_with(list[int]), name="other")
    tools = registry.tools()
    parsed = pydantic.TypeAdapter(RealtimeToolsConfig).validate_python(tools)
    assert all(isinstance(tool, RealtimeFunctionTool) for tool in parsed)
    for tool in tools:
        model = RealtimeFunctionTool.model_validate(tool)
        assert set(tool) == set(RealtimeFunctionTool.model_fields)
        assert model.model_extra == {}
        assert model.type == "function"
    assert [tool["name"] for tool in tools] == ["check_availability", "other"]


def test_returned_schemas_are_copies() -> None:
    registry = FunctionRegistry()
    registry.register(tool_with(int))
    registry.tools()[0]["parameters"]["properties"].clear()
    registry.schema("tool")["parameters"]["required"].append("y")
    assert registry.schema("tool")["parameters"] == one_param({"type": "integer"})


# ---------------------------------------------------------------------- execution


async def test_sync_and_async_tools_run_and_their_results_are_json() -> None:
    registry = FunctionRegistry()

    @registry.register
    def add(a: int, b: int) -> int:
        return a + b

    @registry.register
    async def greet(name: str) -> dict[str, str]:
        await trio.lowlevel.checkpoint()
        return {"greeting": f"Hello {name}"}

    assert (await run(registry, "add", '{"a": 2, "b": 3}')).output == "5"
    outcome = await run(registry, "greet", '{"name": "Zoë"}')
    assert outcome == ToolOutcome('{"greeting":"Hello Zoë"}')
    assert not registry.failures


async def test_without_a_factory_the_call_context_is_the_tool_context() -> None:
    registry = FunctionRegistry(context_type=CallContext)
    seen: list[object] = []

    @registry.register
    def whoami(call: CallContext, greeting: str) -> str:
        seen.append(call)
        return f"{greeting} {call.caller}"

    outcome = await run(registry, "whoami", '{"greeting": "hi"}')
    assert json.loads(outcome.output) == "hi +15550001111"
    outcome = await run(registry, "whoami", '{"greeting": "yo"}')
    assert json.loads(outcome.output) == "yo +15550001111"
    assert seen == [CONTEXT, CONTEXT]


async def test_unknown_tool_names_the_available_ones(caplog: pytest.LogCaptureFixture) -> None:
    registry = FunctionRegistry()
    registry.register(tool_with(int), name="a")
    registry.register(tool_with(int), name="b")
    with caplog.at_level(logging.WARNING):
        outcome = await run(registry, "foo", "{}", call_id="CA9")
    assert error_of(outcome) == 'unknown tool "foo"; available: a, b'
    assert registry.failures == Counter({"unknown_tool": 1})
    assert "CA9" in caplog.text


@pytest.mark.parametrize("text", ["{", "{'a': 1}", '{"x": NaN}', '{"x": Infinity}', "nope"])
async def test_invalid_json_is_refused(text: str) -> None:
    registry = FunctionRegistry()
    registry.register(tool_with(float))
    outcome = await run(registry, "tool", text)
    assert error_of(outcome) == "the arguments for tool were not valid JSON"
    assert registry.failures == Counter({"bad_json": 1})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@given(json_values.filter(lambda v: not isinstance(v, dict)))
def test_any_json_that_is_not_an_object_is_refused_cleanly(value: object) -> None:
    registry = FunctionRegistry()
    registry.register(tool_with(int))
    outcome = trio.run(run, registry, "tool", json.dumps(value))
    assert error_of(outcome).startswith("the arguments for tool must be a JSON object, got ")
    assert registry.failures == Counter({"bad_json": 1})


async def test_empty_arguments_mean_no_arguments() -> None:
    registry = FunctionRegistry()

    @registry.register
    def ping() -> str:
        return "pong"

    assert (await run(registry, "ping", "")).output == '"pong"'


@pytest.mark.parametrize(
    ("annotation", "arguments", "error"),
    [
        (int, "{}", "missing argument: x"),
        (int, '{"x": "two"}', 'x must be a whole number, got "two"'),
        (int, '{"x": true}', "x must be a whole number, got true"),
        (int, '{"x": 3.5}', "x must be a whole number, got 3.5"),
        (float, '{"x": "1.5"}', 'x must be a number, got "1.5"'),
        (float, '{"x": 1e999}', "x must be a number, got Infinity"),
        (bool, '{"x": 1}', "x must be true or false, got 1"),
        (str, '{"x": null}', "x must be a string, got null"),
        (str, '{"x": ["a"]}', "x must be a string, got a list"),
        (list[int], '{"x": [1, "2"]}', 'x[1] must be a whole number, got "2"'),
        (dict[str, int], '{"x": {"a": 1.5}}', "x.a must be a whole number, got 1.5"),
        (int, '{"x": 1, "y": 2}', "unknown argument: y (expected: x)"),
        (
            Literal["king", "queen"],
            '{"x": "suite"}',
            'x must be one of "king", "queen", got "suite"',
        ),
        (Literal[1, 2], '{"x": true}', "x must be a whole number, got true"),
        (dt.date, '{"x": "tomorrow"}', 'x must be a date like 2026-12-24, got "tomorrow"'),
        (dt.date, '{"x": "2026-02-30"}', 'x must be a date like 2026-12-24, got "2026-02-30"'),
        (dt.date, '{"x": "20261224"}', 'x must be a date like 2026-12-24, got "20261224"'),
        (
            dt.datetime,
            '{"x": "2026-12-24"}',
            'x must be a date and time like 2026-12-24T15:00, got "2026-12-24"',
        ),
        (dt.date | None, '{"x": 5}', "x must be a date like 2026-12-24 or null, got 5"),
    ],
)
async def test_arguments_breaking_the_schema_get_a_precise_error(
    annotation: object, arguments: str, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = FunctionRegistry()
    ran: list[object] = []
    registry.register(tool_with(annotation, ran))
    with caplog.at_level(logging.WARNING):
        outcome = await run(registry, "tool", arguments, call_id="CA42")
    assert error_of(outcome) == error
    assert registry.failures == Counter({"bad_arguments": 1})
    assert ran == []
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "CA42" in record.getMessage()


async def test_all_mistakes_are_reported_at_once() -> None:
    registry = FunctionRegistry()

    @registry.register
    def book(adults: int, check_in: dt.date, room: str = "any") -> str:
        return "ok"

    outcome = await run(registry, "book", '{"check_in": "soon", "rooms": 2}')
    assert error_of(outcome) == (
        "missing argument: adults; "
        'check_in must be a date like 2026-12-24, got "soon"; '
        "unknown argument: rooms (expected: adults, check_in, room)"
    )


async def test_validated_arguments_are_converted_to_python_values() -> None:
    registry = FunctionRegistry()
    seen: list[dict[str, Any]] = []

    @registry.register
    def stay(
        nights: int,
        rate: float,
        check_in: dt.date,
        arrival: dt.datetime,
        blackout: list[dt.date],
        choice: Literal[1, 2],
        check_out: dt.date | None = None,
    ) -> str:
        seen.append(arguments_of(locals()))
        return "ok"

    arguments = {
        "nights": 3.0,
        "rate": 120,
        "check_in": "2026-12-24",
        "arrival": "2026-12-24T15:30:00+01:00",
        "blackout": ["2026-12-31"],
        "choice": 2.0,
        "check_out": None,
    }
    assert (await run(registry, "stay", json.dumps(arguments))).output == '"ok"'
    [kwargs] = seen
    assert kwargs == {
        "nights": 3,
        "rate": 120.0,
        "check_in": dt.date(2026, 12, 24),
        "arrival": dt.datetime(2026, 12, 24, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "blackout": [dt.date(2026, 12, 31)],
        "choice": 2,
        "check_out": None,
    }
    assert type(kwargs["nights"]) is int and type(kwargs["rate"]) is float
    assert type(kwargs["choice"]) is int


@given(
    st.fixed_dictionaries(
        {
            "name": st.text(),
            "nights": st.integers(-(10**12), 10**12),
            "rate": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-999, 999),
            "breakfast": st.booleans(),
            "check_in": st.dates(),
            "arrival": st.datetimes(timezones=st.none() | st.just(dt.UTC)),
            "room": st.sampled_from(["king", "queen"]),
            "ages": st.lists(st.integers(0, 120), max_size=4),
            "extras": st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        },
        optional={"check_out": st.none() | st.dates()},
    )
)
def test_any_valid_argument_set_round_trips(values: dict[str, Any]) -> None:
    registry = FunctionRegistry()
    seen: list[dict[str, Any]] = []

    @registry.register
    def everything(
        name: str,
        nights: int,
        rate: float,
        breakfast: bool,
        check_in: dt.date,
        arrival: dt.datetime,
        room: Literal["king", "queen"],
        ages: list[int],
        extras: dict[str, int],
        check_out: dt.date | None = None,
    ) -> str:
        seen.append(arguments_of(locals()))
        return "ok"

    as_json = {
        key: value.isoformat() if isinstance(value, dt.date) else value
        for key, value in values.items()
    }
    outcome = trio.run(run, registry, "everything", json.dumps(as_json))
    assert outcome.output == '"ok"', outcome.output
    expected = {"check_out": None, **values, "rate": float(values["rate"])}
    assert seen == [expected]
    assert type(seen[0]["rate"]) is float


async def test_tool_error_message_reaches_the_model(caplog: pytest.LogCaptureFixture) -> None:
    registry = FunctionRegistry()

    @registry.register
    async def book(nights: int) -> str:
        raise ToolError("We are fully booked on those dates.")

    with caplog.at_level(logging.INFO):
        outcome = await run(registry, "book", '{"nights": 2}', call_id="CA7")
    assert error_of(outcome) == "We are fully booked on those dates."
    assert registry.failures == Counter({"tool_error": 1})
    [record] = caplog.records
    assert record.levelno == logging.INFO and "CA7" in record.getMessage()


async def test_unexpected_exception_text_stays_out_of_the_model_output(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = FunctionRegistry()

    @registry.register
    def check_availability(nights: int) -> str:
        raise RuntimeError("db password hunter2 rejected")

    with caplog.at_level(logging.WARNING):
        outcome = await run(registry, "check_availability", '{"nights": 1}', call_id="CA8")
    assert error_of(outcome) == (
        "check_availability failed; apologise and offer to take the caller's details"
    )
    assert "hunter2" not in outcome.output
    assert registry.failures == Counter({"raised": 1})
    [record] = caplog.records
    assert "CA8" in record.getMessage() and record.exc_info is not None
    assert "hunter2" in caplog.text  # the log keeps what the model must not see


async def test_slow_tool_times_out_at_the_registry_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = FunctionRegistry(timeout_s=8)

    @registry.register
    async def slow() -> str:
        await trio.sleep(60)
        return "late"

    start = trio.current_time()
    outcome = await run(registry, "slow", "{}", call_id="CA5")
    assert trio.current_time() - start == pytest.approx(8)
    assert "timed out after 8 s" in error_of(outcome)
    assert registry.failures == Counter({"timeout": 1})


async def test_a_tool_timeout_overrides_the_registry_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = FunctionRegistry(timeout_s=8)

    @registry.register(timeout_s=2.5)
    async def quick() -> str:
        await trio.sleep(3)
        return "late"

    @registry.register(timeout_s=20)
    async def patient() -> str:
        await trio.sleep(10)
        return "done"

    start = trio.current_time()
    assert "timed out after 2.5 s" in error_of(await run(registry, "quick", "{}"))
    assert trio.current_time() - start == pytest.approx(2.5)
    assert (await run(registry, "patient", "{}")).output == '"done"'


async def test_cancellation_propagates_instead_of_becoming_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = FunctionRegistry(timeout_s=8)

    @registry.register
    async def slow() -> str:
        await trio.sleep(60)
        return "late"

    outcomes: list[ToolOutcome] = []
    with trio.move_on_after(1) as scope:
        outcomes.append(await run(registry, "slow", "{}"))
    assert scope.cancelled_caught
    assert outcomes == []
    assert not registry.failures


class Opaque:
    pass


@pytest.mark.parametrize(
    ("result", "output"),
    [
        ("Two rooms free.", '"Two rooms free."'),
        (dt.date(2026, 12, 24), '"2026-12-24"'),
        (dt.datetime(2026, 12, 24, 15, 0), '"2026-12-24T15:00:00"'),
        (
            Quote("king", 2, decimal.Decimal("240.50"), dt.date(2026, 12, 24)),
            '{"room":"king","nights":2,"total":"240.50","arrival":"2026-12-24"}',
        ),
        ({"board": Board.BREAKFAST, "tags": {"b", "a"}}, '{"board":"breakfast","tags":["a","b"]}'),
        ((1, "two"), '[1,"two"]'),
        (None, "null"),
    ],
)
async def test_results_are_serialised_to_json_once(result: object, output: str) -> None:
    registry = FunctionRegistry()
    registry.register(lambda: result, name="tool")
    outcome = await run(registry, "tool", "{}")
    assert outcome == ToolOutcome(output)


async def test_a_tool_outcome_passes_through_unchanged() -> None:
    registry = FunctionRegistry()
    transfer = ToolOutcome(
        '{"status":"transferring"}',
        transfer=TransferRequest(number="+15550003333", department="front_desk"),
    )
    registry.register(lambda: transfer, name="transfer_to_human")
    assert await run(registry, "transfer_to_human", "{}") is transfer


@pytest.mark.parametrize("result", [Opaque(), {"rate": float("nan")}, b"bytes"])
async def test_a_result_with_no_json_form_is_a_failure(
    result: object, caplog: pytest.LogCaptureFixture
) -> None:
    registry = FunctionRegistry()
    registry.register(lambda: result, name="tool")
    with caplog.at_level(logging.WARNING):
        outcome = await run(registry, "tool", "{}", call_id="CA6")
    assert error_of(outcome) == "tool failed; apologise and offer to take the caller's details"
    assert registry.failures == Counter({"raised": 1})
    assert "CA6" in caplog.text


# ---------------------------------------------------------------------- explicit schemas

BOOKING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "guests": {"type": "integer", "minimum": 1, "maximum": 8, "description": "Guests."},
        "name": {"type": "string", "minLength": 1, "maxLength": 10},
        "nights": {"type": "array", "items": {"type": "string", "format": "date"}},
        "note": {"type": ["string", "null"]},
    },
    "required": ["guests", "name"],
    "additionalProperties": False,
}


def explicit_registry(seen: list[dict[str, Any]]) -> FunctionRegistry:
    registry = FunctionRegistry()

    def book(guests: Any, name: Any, nights: Any = (), note: Any = None) -> str:
        seen.append({"guests": guests, "name": name, "nights": nights, "note": note})
        return "booked"

    registry.register(book, parameters=BOOKING_SCHEMA, description="Book a stay.")
    return registry


async def test_explicit_schema_is_published_and_valid_arguments_arrive_as_json_values() -> None:
    seen: list[dict[str, Any]] = []
    registry = explicit_registry(seen)
    assert registry.schema("book") == {
        "type": "function",
        "name": "book",
        "description": "Book a stay.",
        "parameters": BOOKING_SCHEMA,
    }
    arguments = '{"guests": 2, "name": "Ada", "nights": ["2026-12-24"], "note": null}'
    assert (await run(registry, "book", arguments)).output == '"booked"'
    assert seen == [{"guests": 2, "name": "Ada", "nights": ["2026-12-24"], "note": None}]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ('{"name": "Ada"}', "missing argument: guests"),
        ('{"guests": 0, "name": "Ada"}', "guests must be at least 1, got 0"),
        ('{"guests": 9, "name": "Ada"}', "guests must be at most 8, got 9"),
        ('{"guests": 1, "name": ""}', "name must have at least 1 characters"),
        ('{"guests": 1, "name": "Bartholomew"}', "name must have at most 10 characters"),
        (
            '{"guests": 1, "name": "Ada", "nights": ["xmas"]}',
            'nights[0] must be a date like 2026-12-24, got "xmas"',
        ),
        ('{"guests": 1, "name": "Ada", "note": 3}', "note must be a string or null, got 3"),
        (
            '{"guests": 1, "name": "Ada", "pets": 1}',
            "unknown argument: pets (expected: guests, name, nights, note)",
        ),
    ],
)
async def test_explicit_schema_is_enforced(arguments: str, error: str) -> None:
    seen: list[dict[str, Any]] = []
    registry = explicit_registry(seen)
    assert error_of(await run(registry, "book", arguments)) == error
    assert seen == []
    assert registry.failures == Counter({"bad_arguments": 1})


def test_explicit_schemas_the_validator_or_function_cannot_honour_are_refused() -> None:
    registry = FunctionRegistry()

    def book(guests: int) -> str:
        return "ok"

    def open_ended(**extra: Any) -> str:
        return "ok"

    with pytest.raises(ValueError, match="unsupported schema keywords \\['oneOf'\\]"):
        registry.register(open_ended, parameters={"type": "object", "oneOf": []})
    with pytest.raises(ValueError, match=r"parameters\.a has unknown type 'text'"):
        registry.register(
            open_ended, parameters={"type": "object", "properties": {"a": {"type": "text"}}}
        )
    with pytest.raises(TypeError, match="does not accept the schema's properties \\['rooms'\\]"):
        registry.register(
            book,
            parameters={
                "type": "object",
                "properties": {"guests": {"type": "integer"}, "rooms": {"type": "integer"}},
                "required": ["guests"],
                "additionalProperties": False,
            },
        )
    with pytest.raises(TypeError, match="'guests' has no default"):
        registry.register(
            book,
            parameters={
                "type": "object",
                "properties": {"guests": {"type": "integer"}},
                "additionalProperties": False,
            },
        )
    assert tool_names(registry) == []


# ---------------------------------------------------------------------- the call's interface


async def test_the_registry_serves_the_call_with_the_factory_context() -> None:
    registry = FunctionRegistry(context_factory=lambda call: {"hotel": f"Inn {call.dialed}"})

    @registry.register
    def property_name(context: dict[str, str], loud: bool = False) -> str:
        return context["hotel"].upper() if loud else context["hotel"]

    tools: ToolRegistry = registry
    outcome = await tools.execute(ToolCall("c1", "property_name", '{"loud": true}'), CONTEXT)
    assert json.loads(outcome.output) == "INN +15550002222"
    outcome = await tools.execute(ToolCall("c2", "nope", "{}"), CONTEXT)
    assert error_of(outcome).startswith('unknown tool "nope"')


async def test_a_failing_context_factory_costs_an_apology(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(call: CallContext) -> object:
        raise LookupError("no property for +15550002222")

    registry = FunctionRegistry(context_type=CallContext, context_factory=broken)

    @registry.register
    def caller(call: CallContext) -> str | None:
        return call.caller

    with caplog.at_level(logging.WARNING):
        outcome = await registry.execute(ToolCall("c3", "caller", "{}"), CONTEXT)
    assert error_of(outcome) == "caller failed; apologise and offer to take the caller's details"
    assert registry.failures == Counter({"raised": 1})
    assert "c3" in caplog.text
