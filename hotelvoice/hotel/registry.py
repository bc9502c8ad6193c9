"""Turns plain Python functions into the model's tools and runs the model's calls to them safely.

A function's signature and docstring become its JSON schema. :meth:`FunctionRegistry.execute`
(the call's ``ToolRegistry`` port) checks the model's arguments against that schema, converts
them to Python values, runs the function under a deadline and always answers with a JSON
:class:`ToolOutcome`, so a bad call or a broken tool costs the caller one apology instead of
the call.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import enum
import inspect
import json
import logging
import math
import re
import types
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
    overload,
)

import attrs
import trio

from hotelvoice.calls.ports import CallContext, ToolCall, ToolOutcome

if TYPE_CHECKING:
    from hotelvoice.calls.ports import ToolRegistry

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

APOLOGY = "apologise and offer to take the caller's details"
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what the Realtime API accepts as a name
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A date and a time of day; seconds, fractions and an offset may follow. fromisoformat has the
# final word, this only keeps out the basic and week forms it also accepts.
DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}\S*")
DOC_SECTIONS = frozenset(
    {
        "args",
        "arguments",
        "parameters",
        "params",
        "keyword args",
        "returns",
        "return",
        "yields",
        "raises",
        "example",
        "examples",
        "note",
        "notes",
        "see also",
    }
)
ARGS_SECTIONS = frozenset({"args", "arguments", "parameters", "params", "keyword args"})
SCHEMA_KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "format",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        # Annotations only: they never change what is valid.
        "description",
        "title",
        "default",
        "examples",
    }
)
JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
MAX_ERRORS = 5  # more than this at once only buries the first mistake for the model


class ToolError(Exception):
    """An expected failure the caller should hear about, e.g. "no rooms on those dates".

    Its message goes to the model verbatim as ``{"error": message}``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.frozen
class _Param:
    """One schema-visible parameter of a derived tool and how to turn its JSON into Python."""

    name: str
    convert: Callable[[Any], Any]


@attrs.frozen
class _Tool:
    name: str
    func: Callable[..., Any]
    tool: Mapping[str, Any]  # the session's tool entry; copied whenever it leaves the registry
    params: tuple[_Param, ...] | None  # None: explicit schema, arguments pass through as JSON
    context_param: str | None
    timeout_s: float | None


class _Unsupported(Exception):
    def __init__(self, annotation: object) -> None:
        super().__init__(annotation)
        self.annotation = annotation


class FunctionRegistry:
    """The hotel's tools by name: their session schemas and a never-raising executor.

    ``timeout_s`` bounds each call unless the tool sets its own. A parameter annotated with
    ``context_type`` (or named ``context``) is kept out of the schema; :meth:`execute` fills
    it with ``context_factory`` applied to the call's :class:`CallContext` (the CallContext
    itself without a factory). ``failures`` counts failed calls by kind.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 8.0,
        context_type: type | None = None,
        context_factory: Callable[[CallContext], Any] | None = None,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        self.timeout_s = timeout_s
        self.context_type = context_type
        self.context_factory = context_factory
        self.failures: Counter[str] = Counter()
        self._tools: dict[str, _Tool] = {}

    # ------------------------------------------------------------------ registration

    @overload
    def register(
        self,
        func: F,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> F: ...

    @overload
    def register(
        self,
        func: None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> Callable[[F], F]: ...

    def register(
        self,
        func: F | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> F | Callable[[F], F]:
        """Add ``func`` as a tool and return it unchanged; without ``func``, a decorator.

        The schema comes from the signature unless ``parameters`` gives one. Raises
        ValueError for a taken or invalid name, a bad timeout or an unsupported keyword in
        ``parameters``; TypeError, naming the parameter, for an annotation with no JSON form.
        """

        def add(f: F) -> F:
            self._add(f, name, description, parameters, timeout_s)
            return f

        return add if func is None else add(func)

    def _add(
        self,
        func: Callable[..., Any],
        name: str | None,
        description: str | None,
        parameters: Mapping[str, Any] | None,
        timeout_s: float | None,
    ) -> None:
        tool_name = name if name is not None else getattr(func, "__name__", "")
        if not TOOL_NAME.fullmatch(tool_name):
            raise ValueError(f"tool name {tool_name!r} must be 1-64 letters, digits, _ or -")
        if tool_name in self._tools:
            raise ValueError(f"a tool named {tool_name!r} is already registered")
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"{tool_name}: timeout_s must be positive, got {timeout_s!r}")
        doc = inspect.getdoc(func) or ""
        summary, arg_docs = _parse_docstring(doc)
        signature = inspect.signature(func)
        hints = _type_hints(func, tool_name)
        context_param = self._context_param(tool_name, signature, hints)
        params: tuple[_Param, ...] | None
        if parameters is None:
            schema, params = self._derive(tool_name, signature, hints, context_param, arg_docs)
        else:
            schema = copy.deepcopy(dict(parameters))
            _check_explicit_schema(tool_name, schema, signature, context_param)
            params = None
        self._tools[tool_name] = _Tool(
            name=tool_name,
            func=func,
            tool={
                "type": "function",
                "name": tool_name,
                "description": summary if description is None else description,
                "parameters": schema,
            },
            params=params,
            context_param=context_param,
            timeout_s=timeout_s,
        )

    def _context_param(
        self, tool_name: str, signature: inspect.Signature, hints: Mapping[str, Any]
    ) -> str | None:
        found = [
            p.name
            for p in signature.parameters.values()
            if p.name == "context"
            or (self.context_type is not None and _is_context(hints.get(p.name), self.context_type))
        ]
        if len(found) > 1:
            raise TypeError(f"{tool_name}: only one parameter may take the context, got {found}")
        return found[0] if found else None

    def _derive(
        self,
        tool_name: str,
        signature: inspect.Signature,
        hints: Mapping[str, Any],
        context_param: str | None,
        arg_docs: Mapping[str, str],
    ) -> tuple[dict[str, Any], tuple[_Param, ...]]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        params: list[_Param] = []
        for p in signature.parameters.values():
            if p.name == context_param:
                continue
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                raise TypeError(
                    f"{tool_name}: parameter {p.name!r} must be passable by keyword "
                    "(no *args, **kwargs or positional-only parameters)"
                )
            if p.name not in hints:
                raise TypeError(f"{tool_name}: parameter {p.name!r} has no type annotation")
            try:
                schema, convert = _schema_for(hints[p.name])
            except _Unsupported as exc:
                raise TypeError(
                    f"{tool_name}: parameter {p.name!r} has an unsupported annotation "
                    f"{exc.annotation!r}; use str, int, float, bool, date, datetime, Literal, "
                    "list[...], dict[str, ...] or X | None"
                ) from None
            if "description" not in schema and p.name in arg_docs:
                schema = {**schema, "description": arg_docs[p.name]}
            properties[p.name] = schema
            if p.default is p.empty:
                required.append(p.name)
            params.append(_Param(p.name, convert))
        schema = {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        return schema, tuple(params)

    # ------------------------------------------------------------------ introspection

    def tools(self) -> list[dict[str, Any]]:
        """The GA session's tool list, in registration order; a fresh copy each time."""
        return [copy.deepcopy(dict(t.tool)) for t in self._tools.values()]

    def schema(self, name: str) -> dict[str, Any]:
        """The session tool entry of ``name`` (as in :meth:`tools`). Raises KeyError if unknown."""
        return copy.deepcopy(dict(self._tools[name].tool))

    # ------------------------------------------------------------------ execution

    async def execute(self, call: ToolCall, context: CallContext) -> ToolOutcome:
        """Run the model's ``call``: the call's :class:`~hotelvoice.calls.ports.ToolRegistry`.

        A tool's context parameter gets ``context_factory(context)``, or ``context`` itself
        without a factory. Waits on the tool, at most its timeout. Never raises for a bad call,
        a failing tool or a failing factory: those become ``{"error": ...}`` outcomes.
        Cancellation still propagates.
        """
        tool_context: Any = context
        if self.context_factory is not None:
            try:
                tool_context = self.context_factory(context)
            except Exception:
                # Same contract as a raising tool: the model apologises, the log has the rest.
                self.failures["raised"] += 1
                log.exception("call %s: no tool context for %s", call.call_id, call.name)
                return _error(f"{call.name} failed; {APOLOGY}")
        return await self._run(call, tool_context)

    async def _run(self, call: ToolCall, context: Any) -> ToolOutcome:
        name, call_id = call.name, call.call_id
        tool = self._tools.get(name)
        if tool is None:
            available = ", ".join(self._tools) or "none"
            return self._fail(
                "unknown_tool", call_id, name, f'unknown tool "{name}"; available: {available}'
            )
        try:
            # An empty string is how some models spell "no arguments".
            arguments = json.loads(call.arguments or "{}", parse_constant=_reject_constant)
        except ValueError:
            return self._fail(
                "bad_json", call_id, name, f"the arguments for {name} were not valid JSON"
            )
        if not isinstance(arguments, dict):
            return self._fail(
                "bad_json",
                call_id,
                name,
                f"the arguments for {name} must be a JSON object, got {_describe(arguments)}",
            )
        errors: list[str] = []
        _validate(tool.tool["parameters"], arguments, "", errors)
        if errors:
            return self._fail("bad_arguments", call_id, name, "; ".join(errors[:MAX_ERRORS]))
        if tool.params is None:
            kwargs = dict(arguments)
        else:
            kwargs = {
                p.name: p.convert(arguments[p.name]) for p in tool.params if p.name in arguments
            }
        if tool.context_param is not None:
            kwargs[tool.context_param] = context
        timeout = tool.timeout_s if tool.timeout_s is not None else self.timeout_s
        result: Any = None
        with trio.move_on_after(timeout) as scope:
            try:
                result = tool.func(**kwargs)
                # Checked on the result, not the function, so wrapped coroutine functions work.
                if inspect.isawaitable(result):
                    result = await result
            except ToolError as exc:
                self.failures["tool_error"] += 1
                log.info("call %s: tool %s refused: %s", call_id, name, exc.message)
                return _error(exc.message)
            except Exception:
                self.failures["raised"] += 1
                log.exception("call %s: tool %s raised", call_id, name)
                return _error(f"{name} failed; {APOLOGY}")
        if scope.cancelled_caught:
            return self._fail(
                "timeout", call_id, name, f"{name} timed out after {timeout:g} s; {APOLOGY}"
            )
        if isinstance(result, ToolOutcome):
            return result
        try:
            output = json.dumps(
                result,
                default=_json_default,
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,  # NaN is not JSON; the model's parser may choke on it
            )
        except (TypeError, ValueError):
            self.failures["raised"] += 1
            log.exception("call %s: tool %s returned a result with no JSON form", call_id, name)
            return _error(f"{name} failed; {APOLOGY}")
        return ToolOutcome(output)

    def _fail(self, kind: str, call_id: str, name: str, message: str) -> ToolOutcome:
        self.failures[kind] += 1
        log.warning("call %s: tool %s: %s: %s", call_id, name, kind, message)
        return _error(message)


if TYPE_CHECKING:
    # mypy proves the registry fits the call's interface.
    def _registry_is_a_tool_registry(registry: FunctionRegistry) -> ToolRegistry:
        return registry


# ---------------------------------------------------------------------- schema derivation


def _type_hints(func: Callable[..., Any], tool_name: str) -> dict[str, Any]:
    try:
        return get_type_hints(func, include_extras=True)
    except (NameError, TypeError) as exc:
        raise TypeError(f"{tool_name}: cannot resolve its annotations: {exc}") from exc


def _is_context(hint: object, context_type: type) -> bool:
    hint = _strip_annotated(hint)
    if _is_union(hint):
        members = [a for a in get_args(hint) if a is not type(None)]
        return len(members) == 1 and _strip_annotated(members[0]) is context_type
    return hint is context_type


def _strip_annotated(hint: object) -> object:
    while get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    return hint


def _is_union(hint: object) -> bool:
    return get_origin(hint) in (Union, types.UnionType)


def _identity(value: Any) -> Any:
    return value


def _schema_for(hint: object) -> tuple[dict[str, Any], Callable[[Any], Any]]:
    """The JSON schema of ``hint`` and the conversion from validated JSON to its Python value.

    Raises _Unsupported with the offending (possibly nested) annotation.
    """
    if get_origin(hint) is Annotated:
        base, *metadata = get_args(hint)
        schema, convert = _schema_for(base)
        text = next((m for m in metadata if isinstance(m, str)), None)
        if text is not None:
            schema = {**schema, "description": text}
        return schema, convert
    if hint is str:
        return {"type": "string"}, _identity
    if hint is bool:
        return {"type": "boolean"}, _identity
    if hint is int:
        return {"type": "integer"}, int  # JSON 3.0 passed validation as a whole number
    if hint is float:
        return {"type": "number"}, float
    # datetime before date: a datetime is a date too.
    if hint is dt.datetime:
        return {"type": "string", "format": "date-time"}, dt.datetime.fromisoformat
    if hint is dt.date:
        return {"type": "string", "format": "date"}, dt.date.fromisoformat
    if hint is list:
        return {"type": "array"}, _identity
    if hint is dict:
        return {"type": "object"}, _identity
    origin = get_origin(hint)
    if origin is Literal:
        return _literal_schema(hint)
    if origin is list:
        (item,) = get_args(hint)
        if item is Any:
            return {"type": "array"}, _identity
        item_schema, item_convert = _schema_for(item)
        return {"type": "array", "items": item_schema}, _list_of(item_convert)
    if origin is dict:
        key, value = get_args(hint)
        if key is not str:
            raise _Unsupported(hint)  # JSON object keys are strings
        if value is Any:
            return {"type": "object"}, _identity
        value_schema, value_convert = _schema_for(value)
        return {"type": "object", "additionalProperties": value_schema}, _dict_of(value_convert)
    if _is_union(hint):
        members = [a for a in get_args(hint) if a is not type(None)]
        if len(members) != 1:
            raise _Unsupported(hint)  # only X | None has a plain JSON form
        schema, convert = _schema_for(members[0])
        return _nullable(schema), _or_none(convert)
    raise _Unsupported(hint)


def _literal_schema(hint: object) -> tuple[dict[str, Any], Callable[[Any], Any]]:
    values = list(get_args(hint))
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if len(kinds) != 1 or next(iter(kinds)) not in (str, int, bool):
        raise _Unsupported(hint)
    kind = next(iter(kinds))
    json_type = {str: "string", int: "integer", bool: "boolean"}[kind]
    schema: dict[str, Any] = {"type": json_type, "enum": values}
    convert: Callable[[Any], Any] = int if kind is int else _identity
    if len(present) != len(values):  # Literal["a", None]
        schema = {"type": [json_type, "null"], "enum": values}
        convert = _or_none(convert)
    return schema, convert


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    json_type = schema["type"]
    types_ = list(json_type) if isinstance(json_type, list) else [json_type]
    if "null" not in types_:
        types_.append("null")
    result = {**schema, "type": types_}
    if "enum" in schema and None not in schema["enum"]:
        result["enum"] = [*schema["enum"], None]
    return result


def _list_of(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if convert is _identity:
        return _identity
    return lambda values: [convert(v) for v in values]


def _dict_of(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if convert is _identity:
        return _identity
    return lambda values: {k: convert(v) for k, v in values.items()}


def _or_none(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if convert is _identity:
        return _identity
    return lambda value: None if value is None else convert(value)


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The first paragraph of a cleaned docstring and its Google-style ``Args:`` entries."""
    lines = doc.splitlines()
    summary: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped or _section_name(line) is not None:
            break
        summary.append(stripped)
    args: dict[str, str] = {}
    current: str | None = None
    entry_indent = -1
    in_args = False
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        section = _section_name(line)
        if section is not None and indent == 0:
            in_args = section in ARGS_SECTIONS
            current, entry_indent = None, -1
            continue
        if not in_args or not stripped:
            continue
        if current is not None and indent > entry_indent:
            args[current] = f"{args[current]} {stripped}".strip()
            continue
        match = re.fullmatch(r"\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)", stripped)
        if match is None:
            current = None
            continue
        current, entry_indent = match.group(1), indent
        args[current] = match.group(2).strip()
    return " ".join(summary), args


def _section_name(line: str) -> str | None:
    stripped = line.strip()
    if stripped.endswith(":") and stripped[:-1].strip().lower() in DOC_SECTIONS:
        return stripped[:-1].strip().lower()
    return None


# ---------------------------------------------------------------------- explicit schemas


def _check_explicit_schema(
    tool_name: str,
    schema: Mapping[str, Any],
    signature: inspect.Signature,
    context_param: str | None,
) -> None:
    """Refuse a schema the validator cannot enforce, or one the function cannot accept."""
    if schema.get("type") != "object":
        raise ValueError(f"{tool_name}: parameters must be an object schema")
    _check_keywords(tool_name, schema, "parameters")
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    keyword_names = {
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != context_param
    }
    properties = schema.get("properties", {})
    unknown = [n for n in properties if n not in keyword_names]
    if unknown and not accepts_any:
        raise TypeError(f"{tool_name}: does not accept the schema's properties {unknown}")
    if schema.get("additionalProperties", True) is not False and not accepts_any:
        raise TypeError(
            f"{tool_name}: the schema allows extra arguments; set additionalProperties to "
            "false or accept **kwargs"
        )
    required = set(schema.get("required", []))
    for p in signature.parameters.values():
        if p.name == context_param or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if p.kind is p.POSITIONAL_ONLY:
            raise TypeError(f"{tool_name}: parameter {p.name!r} is positional-only")
        if p.default is p.empty and p.name not in required:
            raise TypeError(
                f"{tool_name}: parameter {p.name!r} has no default but the schema does not "
                "require it"
            )


def _check_keywords(tool_name: str, schema: Any, where: str) -> None:
    if not isinstance(schema, Mapping):
        raise ValueError(f"{tool_name}: {where} must be a schema object")
    unsupported = sorted(set(schema) - SCHEMA_KEYWORDS)
    if unsupported:
        raise ValueError(f"{tool_name}: {where} uses unsupported schema keywords {unsupported}")
    json_type = schema.get("type")
    for t in json_type if isinstance(json_type, list) else [json_type]:
        if t is not None and t not in JSON_TYPES:
            raise ValueError(f"{tool_name}: {where} has unknown type {t!r}")
    for prop, sub in schema.get("properties", {}).items():
        _check_keywords(tool_name, sub, f"{where}.{prop}")
    if "items" in schema:
        _check_keywords(tool_name, schema["items"], f"{where}[]")
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        _check_keywords(tool_name, extra, f"{where}.*")


# ---------------------------------------------------------------------- validation


def _validate(schema: Mapping[str, Any], value: Any, path: str, errors: list[str]) -> None:
    """Append a model-readable message to ``errors`` for each way ``value`` breaks ``schema``.

    The message leads with ``path`` (empty for the arguments object itself).
    """
    where = path or "the arguments"
    json_type = schema.get("type")
    allowed = (json_type if isinstance(json_type, list) else [json_type]) if json_type else []
    fmt = schema.get("format")
    if allowed and not any(_has_type(value, t) for t in allowed):
        errors.append(f"{where} must be {_type_phrase(allowed, fmt)}, got {_describe(value)}")
        return
    if "enum" in schema and not any(_json_equal(value, e) for e in schema["enum"]):
        options = ", ".join(json.dumps(e, ensure_ascii=False) for e in schema["enum"])
        errors.append(f"{where} must be one of {options}, got {_describe(value)}")
        return
    if isinstance(value, str):
        _validate_string(schema, value, where, errors)
    elif _is_number(value):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where} must be at least {schema['minimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where} must be at most {schema['maximum']}, got {value}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _validate(schema["items"], item, f"{where}[{i}]", errors)
    elif isinstance(value, dict):
        _validate_object(schema, value, path, errors)


def _validate_string(schema: Mapping[str, Any], value: str, where: str, errors: list[str]) -> None:
    fmt = schema.get("format")
    if fmt in ("date", "date-time") and not _valid_format(value, fmt):
        errors.append(f"{where} must be {_type_phrase(['string'], fmt)}, got {_describe(value)}")
        return
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{where} must have at least {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{where} must have at most {schema['maxLength']} characters")


def _validate_object(
    schema: Mapping[str, Any], value: dict[str, Any], path: str, errors: list[str]
) -> None:
    prefix = f"{path}." if path else ""
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            errors.append(f"missing argument: {prefix}{name}")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _validate(properties[name], item, prefix + name, errors)
        elif extra is False:
            expected = ", ".join(properties) or "none"
            errors.append(f"unknown argument: {prefix}{name} (expected: {expected})")
        elif isinstance(extra, Mapping):
            _validate(extra, item, prefix + name, errors)


def _has_type(value: Any, json_type: str) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "integer":
        # bool is an int in Python but not in JSON; 3.0 is a whole number in JSON.
        if isinstance(value, float):
            return math.isfinite(value) and value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if json_type == "number":
        return _is_number(value)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "array":
        return isinstance(value, list)
    if json_type == "object":
        return isinstance(value, dict)
    return value is None  # "null"


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)  # 1e999 parses to inf
    return isinstance(value, int) and not isinstance(value, bool)


def _json_equal(a: Any, b: Any) -> bool:
    # JSON has no bool/number overlap, but Python's True == 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _valid_format(value: str, fmt: str) -> bool:
    try:
        if fmt == "date":
            return DATE.fullmatch(value) is not None and bool(dt.date.fromisoformat(value))
        return DATE_TIME.fullmatch(value) is not None and bool(dt.datetime.fromisoformat(value))
    except ValueError:
        return False


def _type_phrase(types_: Sequence[str], fmt: str | None) -> str:
    phrases = {
        "string": "a string",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "array": "a list",
        "object": "an object",
        "null": "null",
    }
    if fmt == "date":
        phrases["string"] = "a date like 2026-12-24"
    elif fmt == "date-time":
        phrases["string"] = "a date and time like 2026-12-24T15:00"
    return " or ".join(phrases.get(t, t) for t in types_)


def _describe(value: Any) -> str:
    """A short, model-readable rendering of a JSON value for an error message."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + '..."'


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# ---------------------------------------------------------------------- results


def _error(message: str) -> ToolOutcome:
    return ToolOutcome(json.dumps({"error": message}, separators=(",", ":"), ensure_ascii=False))


def _json_default(value: object) -> Any:
    """JSON for the values tools commonly return; raises TypeError for anything else."""
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact; a float would round money
    if attrs.has(type(value)):
        return attrs.asdict(cast("attrs.AttrsInstance", value), recurse=True)
    if isinstance(value, set | frozenset):  # tuples need nothing: json writes them as lists
        try:
            return sorted(value)  # stable output for the model and for tests
        except TypeError:
            return list(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")
