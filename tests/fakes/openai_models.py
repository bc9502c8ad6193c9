"""Strict validators for Realtime (GA) events, built from the ``openai`` package's models.

The ``openai`` package is a test-only dependency; hotelvoice itself never imports it.

openai tags its unions with its own ``PropertyInfo(discriminator="type")``, which pydantic
ignores: it would try all 46 members and report errors from each. Re-wrapping the members with
``Field(discriminator="type")`` gives one precise error per event. openai's models also allow
unknown keys (``extra="allow"``), which would let ``session.temperature`` (rejected by the real
server) through; ``validate_*`` therefore also fail on any extra key, at any depth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Union, get_args

import pydantic
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import Field, TypeAdapter

__all__ = [
    "CLIENT_EVENT_TYPES",
    "SERVER_EVENT_TYPES",
    "client_event_adapter",
    "server_event_adapter",
    "validate_client_event",
    "validate_server_event",
]


def _members(union: Any) -> tuple[type[pydantic.BaseModel], ...]:
    # RealtimeServerEvent is Annotated[Union[...], PropertyInfo(...)]
    return tuple(get_args(get_args(union)[0]))


def _strict(union: Any) -> TypeAdapter[Any]:
    members = _members(union)
    tagged: Any = Annotated[Union[members], Field(discriminator="type")]  # noqa: UP007
    return TypeAdapter(tagged)


def _type_names(union: Any) -> frozenset[str]:
    names: set[str] = set()
    for member in _members(union):
        (literal,) = get_args(member.model_fields["type"].annotation)
        names.add(literal)
    return frozenset(names)


client_event_adapter = _strict(RealtimeClientEvent)
server_event_adapter = _strict(RealtimeServerEvent)
CLIENT_EVENT_TYPES: frozenset[str] = _type_names(RealtimeClientEvent)
SERVER_EVENT_TYPES: frozenset[str] = _type_names(RealtimeServerEvent)


def _extras(value: Any, path: str) -> Iterator[str]:
    """Yield ``path.key`` for every key that no model declared, anywhere inside ``value``."""
    if isinstance(value, pydantic.BaseModel):
        for key in value.model_extra or {}:
            yield f"{path}.{key}" if path else key
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _extras(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _extras(item, f"{path}.{key}")


def _validate(adapter: TypeAdapter[Any], obj: Mapping[str, Any], side: str) -> None:
    try:
        # strict: JSON-shaped data has exact types; "5" for an int is a bug, not a coercion.
        model = adapter.validate_python(dict(obj), strict=True)
    except pydantic.ValidationError as exc:
        raise AssertionError(f"invalid {side} event {obj.get('type')!r}:\n{exc}") from None
    extras = list(_extras(model, ""))
    if extras:
        raise AssertionError(
            f"{side} event {obj.get('type')!r} has keys the GA model does not know: "
            + ", ".join(extras)
        )


def validate_client_event(obj: Mapping[str, Any]) -> None:
    """Raise AssertionError (with pydantic's text) unless ``obj`` is a valid GA client event."""
    _validate(client_event_adapter, obj, "client")


def validate_server_event(obj: Mapping[str, Any]) -> None:
    """Raise AssertionError (with pydantic's text) unless ``obj`` is a valid GA server event."""
    _validate(server_event_adapter, obj, "server")
