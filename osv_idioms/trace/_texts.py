"""The JSON text of a hit's ``args`` in a Chrome trace, written by a function made per tracepoint.

An export writes every hit's arguments and message. Done with a dict and
``json.dumps``, or with a loop over the parameters, that took most of an
export's time: the loop's setup alone cost more than the values. So each
tracepoint's parameters and template get a function of their own, with one
positional parameter per value, whose body is a single f-string: the
message is the template turned into an f-string (a template with anything
an f-string cannot say, such as an index or a nested field, is formatted as
it always was), and each value is written in place.

The text is exactly what ``json.dumps`` writes for the same values: ints and
strs by the same C code, anything else by ``json.dumps`` itself, and a value
JSON has no form for as its ``repr`` (``shown``).
"""

from __future__ import annotations

import json
import keyword
import string
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..forks import free_in_child
from ..generated import compile_function
from ._bodies import PREFIX
from ._events import bad_format, message_of, shown

__all__ = ("ArgsText", "args_text", "text", "value_text")

ArgsText = Callable[..., str]
"""Takes a hit's argument values, in its parameters' order; returns its ``args`` as JSON."""

text: Callable[[str], str] = json.encoder.encode_basestring_ascii  # json.dumps's own, for a str

_JSON_SCALARS = (str, int, float, bool, type(None))
_MOST_MADE = 4096  # past this many shapes (hand-made snapshots can have any), don't compile
_made: dict[tuple[tuple[str, ...], str], ArgsText] = {}
_lock = threading.Lock()
free_in_child(_lock)


def args_text(params: tuple[str, ...], template: str) -> ArgsText:
    """The function that writes the ``args`` of a hit with ``params`` and ``template``."""
    key = (params, template)
    made = _made.get(key)
    if made is None:
        with _lock:
            made = _made.get(key)
            if made is None:
                if len(_made) >= _MOST_MADE:  # each compiled source stays in linecache
                    return _looped(params, template)
                made = (_compiled if _compilable(params) else _looped)(params, template)
                _made[key] = made
    return made


def value_text(value: object) -> str:
    """One argument as ``json.dumps`` writes it, or its ``repr`` when JSON has no such value."""
    return json.dumps(value if isinstance(value, _JSON_SCALARS) else shown(value))


def _compilable(params: Sequence[str]) -> bool:
    """Whether each parameter can be a parameter of a generated function."""
    return len(params) < 256 and all(
        param.isidentifier() and not keyword.iskeyword(param) and not param.startswith(PREFIX)
        for param in params
    )


def _compiled(params: tuple[str, ...], template: str) -> ArgsText:
    # Each helper is a global with the reserved prefix, so no parameter can hide it.
    helpers: dict[str, Any] = {
        f"{PREFIX}int": int,
        f"{PREFIX}repr": repr,
        f"{PREFIX}type": type,
        f"{PREFIX}value": value_text,
        f"{PREFIX}text": text,
        f"{PREFIX}shown": shown,
        f"{PREFIX}message_of": message_of,
        f"{PREFIX}bad_format": bad_format,
        f"{PREFIX}template": template,
    }
    message = _message_expression(params, template, helpers)
    fields = "".join(
        f"{text(param)}:{{{_value_expression(param)}}},"
        for param in params
        if param != "message"  # a parameter of that name gives way to the message
    )
    written = "f" + repr(f'{{{{{fields}"message":{{{PREFIX}text({PREFIX}m)}}}}}}')
    source = (
        f"def args_text({''.join(f'{param}, ' for param in params)}{'/' if params else ''}):\n"
        "    try:\n"
        f"        {PREFIX}m = {message}\n"
        f"    except Exception as {PREFIX}error:\n"
        f"        {PREFIX}m = {PREFIX}bad_format({PREFIX}template, {PREFIX}error)\n"
        f"    return {written}\n"
    )
    return compile_function(source, "args_text", what="trace args", namespace=helpers)


def _value_expression(param: str) -> str:
    """An int written by ``repr`` in place; anything else through ``value_text``."""
    return (
        f"{PREFIX}repr({param}) if {PREFIX}type({param}) is {PREFIX}int else {PREFIX}value({param})"
    )


def _message_expression(params: tuple[str, ...], template: str, helpers: dict[str, Any]) -> str:
    """The message as an expression: the template as an f-string when it can be one.

    Format specs become globals the f-string reads (``{size:{spec}}``), so no
    text of the template is ever source. A template an f-string cannot say
    keeps ``str.format``, through ``message_of``.
    """
    if not template:
        shown_fields = " ".join(f"{param}={{{PREFIX}shown({param})}}" for param in params)
        return "f" + repr(shown_fields)
    pieces = _template_pieces(template, params, helpers)
    if pieces is None:
        as_dict = "".join(f"{param!r}: {param}, " for param in params)
        return f"{PREFIX}message_of({PREFIX}template, {{{as_dict}}})"
    return "f" + repr("".join(pieces))


def _template_pieces(
    template: str, params: tuple[str, ...], helpers: dict[str, Any]
) -> list[str] | None:
    """The template's literal text and fields as an f-string's, or None if one can't be said."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:  # a lone brace: str.format raises, and message_of says so
        return None
    pieces: list[str] = []
    for literal, field, spec, conversion in parsed:
        pieces.append(literal.replace("{", "{{").replace("}", "}}"))
        if field is None:
            continue
        if field not in params or (spec and "{" in spec) or conversion not in (None, "r", "s", "a"):
            return None  # a position, an attribute, an index, a nested field: str.format's
        converted = f"!{conversion}" if conversion else ""
        if spec:
            name = f"{PREFIX}spec{len(helpers)}"
            helpers[name] = spec
            pieces.append(f"{{{field}{converted}:{{{name}}}}}")
        else:
            pieces.append(f"{{{field}{converted}}}")
    return pieces


def _looped(params: tuple[str, ...], template: str) -> ArgsText:
    """For parameters no generated function can have (a snapshot's, made by hand)."""
    kept = [(index, text(param) + ":") for index, param in enumerate(params) if param != "message"]

    def args_text_looped(*values: object) -> str:
        fields = "".join([f"{key}{value_text(values[index])}," for index, key in kept])
        message = message_of(template, dict(zip(params, values, strict=True)))
        return f'{{{fields}"message":{text(message)}}}'

    return args_text_looped
