"""The Chrome export's text: exactly what ``json.dumps`` of each record would be, however made.

Each hit's arguments are written by a function generated for its
tracepoint's parameters and template (see ``osv_idioms/trace/_texts.py``),
and its timestamps with three decimals. These tests hold both to the
reference the export replaced: a dict per record, encoded by ``json.dumps``,
with the message ``TraceEvent.message`` gives.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osv_idioms import trace
from osv_idioms.trace import TraceEvent, declare_tracepoint, disable, enable

Unique = Callable[[str], str]

_JSON_SCALARS = (str, int, float, bool, type(None))


class Colour(enum.IntEnum):
    RED = 1


class Unshowable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __format__(self, spec: str) -> str:
        raise LookupError("no format")


def shown(value: object) -> str:
    """``repr``, or the documented placeholder when it raises."""
    try:
        return repr(value)
    except Exception as exc:
        return f"<{type(value).__name__} object: repr() raised {type(exc).__name__}: {exc}>"


def reference_args(event: TraceEvent) -> str:
    """The ``args`` the export wrote as a dict through ``json.dumps``, keys sorted."""
    args: dict[str, object] = {
        key: value if isinstance(value, _JSON_SCALARS) else shown(value)
        for key, value in event.args.items()
    }
    args["message"] = event.message
    return json.dumps(args, sort_keys=True)


def instants(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [record for record in document["traceEvents"] if record["ph"] == "i"]


identifiers = st.sampled_from(["fd", "size", "message", "größe", "x"])
names = st.one_of(identifiers, identifiers, st.sampled_from(["if", "a b", "_osv_tp_c", "0"]))
"""Mostly names a generated function can take, and now and then one it can't."""
values = st.one_of(
    st.integers(),
    st.booleans(),
    st.floats(),
    st.text(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.just(Colour.RED),
    st.builds(Unshowable),
)


def templates(params: list[str]) -> st.SearchStrategy[str]:
    """Templates naming mostly the given parameters, some other way now and then."""
    field = st.builds(
        lambda name, conversion, spec: "{" + name + conversion + spec + "}",
        st.one_of(
            *([st.sampled_from(params)] * 3 if params else []),
            st.sampled_from(["0", "", "x.real", "x[0]", "fd ", "missing"]),
        ),
        st.sampled_from(["", "!r", "!s", "!a", "!z"]),
        st.sampled_from(["", ":>6", ":d", ":x", ":{size}", ':"^4', r":\>3"]),
    )
    literal = st.one_of(
        st.text(alphabet=st.sampled_from("ab \"'\\\nü"), max_size=4),
        st.sampled_from(["{{", "}}", "{", "}"]),  # escaped braces, and lone ones str.format refuses
    )
    pieces = st.lists(st.one_of(field, field, literal), max_size=3)
    return st.one_of(st.just(""), pieces.map("".join))


class TestArgumentsText:
    @given(params=st.lists(names, unique=True, max_size=4), data=st.data())
    def test_any_arguments_and_template_write_what_json_dumps_would(
        self, params: list[str], data: st.DataObject
    ) -> None:
        """Identifiers or not, any value, any template (broken ones too): the reference text."""
        template = data.draw(templates(params))
        args = {name: data.draw(values) for name in params}
        event = TraceEvent(0, "export_property", 5, 1, "main", 1, args, None, template)
        (written,) = instants(trace.chrome_trace([event], pid=1))
        assert json.dumps(written["args"], sort_keys=True) == reference_args(event)

    def test_a_declared_tracepoint_writes_its_template_and_values(
        self, unique: Unique, tmp_path: Path
    ) -> None:
        """Through the ring: specs, conversions, escaped braces, quotes and a non-ASCII message."""
        name = unique("texts")
        point = declare_tracepoint(
            name, "size", "path", "flag", fmt='{size:>5} from {path!r} {{"{flag}"}} ü'
        )
        trace.clear()
        enable(name)
        point(64, "/tmp/a'b", True)
        point(Unshowable(), None, math.nan)
        disable(name)
        assert trace.write_chrome_trace(tmp_path / "t.json") == 2
        document = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
        assert instants(document)[0]["args"] == {
            "size": 64,
            "path": "/tmp/a'b",
            "flag": True,
            "message": '   64 from "/tmp/a\'b" {"True"} ü',
        }
        second = instants(document)[1]["args"]
        assert second["size"] == "<Unshowable object: repr() raised RuntimeError: no repr>"
        assert second["path"] is None and math.isnan(second["flag"])
        assert second["message"] == (
            "<bad format '{size:>5} from {path!r} {{\"{flag}\"}} ü': LookupError: no format>"
        )

    def test_a_parameter_named_message_gives_way_to_the_message(
        self, unique: Unique, tmp_path: Path
    ) -> None:
        """Written once, as the message: a JSON object with a key twice is one reader's guess."""
        name = unique("message_param")
        point = declare_tracepoint(name, "message", "n", fmt="{n}: {message}")
        trace.clear()
        enable(name)
        point("hello", 3)
        disable(name)
        trace.write_chrome_trace(tmp_path / "t.json")
        text = (tmp_path / "t.json").read_text(encoding="utf-8")
        assert text.count('"message":') == 1
        (written,) = instants(json.loads(text))
        assert written["args"] == {"n": 3, "message": "3: hello"}

    @pytest.mark.parametrize(
        ("template", "message"),
        [
            ("{n:{width}}", "    3"),  # a field nested in a spec
            ("{n.real}/{items[1]}", "3/b"),  # an attribute, an index
            (
                "{0}",
                "<bad format '{0}': IndexError: Replacement index 0 out of range for "
                "positional args tuple>",
            ),
            ("{n!z}", "<bad format '{n!z}': ValueError: Unknown conversion specifier z>"),
            ("{n", "<bad format '{n': ValueError: expected '}' before end of string>"),
            ("{missing}", "<bad format '{missing}': KeyError: 'missing'>"),
        ],
    )
    def test_what_an_f_string_cannot_say_is_formatted_as_str_format_does(
        self, template: str, message: str
    ) -> None:
        """Hand-made events: declare_tracepoint() refuses the templates that name no parameter."""
        args = {"n": 3, "width": 5, "items": "abc"}
        event = TraceEvent(0, "str_format", 0, 1, "main", 1, args, None, template)
        (written,) = instants(trace.chrome_trace([event]))
        assert written["args"] == {**args, "message": message}


class TestTimestamps:
    @given(st.lists(st.integers(min_value=0, max_value=2**62), min_size=1, max_size=20))
    def test_each_reads_back_as_the_microseconds_float(self, offsets: list[int]) -> None:
        """Written with three decimals, a timestamp parses to ``(ns - origin) / 1000`` exactly."""
        origin = 10**12
        events = [
            TraceEvent(i, "stamp", origin + offset, 1, "main", 1, {}, None, "")
            for i, offset in enumerate([0, *offsets])
        ]
        written = [r["ts"] for r in instants(trace.chrome_trace(events, pid=1))]
        assert written == [offset / 1000 for offset in [0, *offsets]]

    def test_slices_read_back_exactly_too(self) -> None:
        hits = [("call", 10**15 + 1), ("call_ret", 10**15 + 123_456_789_013)]
        events = [
            TraceEvent(i, n, ns, 1, "main", 1, {}, None, "") for i, (n, ns) in enumerate(hits)
        ]
        (pair,) = [r for r in trace.chrome_trace(events)["traceEvents"] if r["ph"] == "X"]
        assert (pair["ts"], pair["dur"]) == (0.0, 123_456_789_012 / 1000)


class TestRingAndSnapshotAgree:
    def test_every_shape_of_hit_is_written_the_same_from_either(
        self, unique: Unique, tmp_path: Path
    ) -> None:
        """Many tracepoints, templates, backtraces and pairs: the ring's file is the snapshot's."""
        stem = unique("agree")
        plain = declare_tracepoint(stem, "n")
        done = declare_tracepoint(f"{stem}_ret", "n", fmt="{n:#x}")
        traced = declare_tracepoint(f"{stem}_stack", "obj", fmt="{obj!r}")
        empty = declare_tracepoint(f"{stem}_empty")
        trace.clear()
        enable(stem)
        enable(f"{stem}_ret")
        enable(f"{stem}_empty")
        trace.enable(f"{stem}_stack", backtrace=True)
        for n in range(30):
            plain(n)
            traced([n] if n % 2 else f"s{n}")
            if n % 3:
                done(n)
            empty()
        trace.disable(f"{stem}*")
        taken = trace.snapshot()
        trace.write_chrome_trace(tmp_path / "ring.json")
        trace.write_chrome_trace(tmp_path / "snapshot.json", taken)
        ring, snapshot = (
            json.loads((tmp_path / f"{which}.json").read_text(encoding="utf-8"))
            for which in ("ring", "snapshot")
        )
        assert ring == snapshot
        stacks = [r for r in instants(ring) if r["name"] == f"{stem}_stack"]
        assert len(stacks) == 30 and all(r["stack"] for r in stacks)
        assert len([r for r in ring["traceEvents"] if r["ph"] == "X"]) == 20

    def test_hand_made_events_of_one_name_with_other_shapes(self) -> None:
        """A snapshot made by hand may give one name other parameters or templates: each kept."""
        events = [
            TraceEvent(0, "same", 0, 1, "main", 1, {"a": 1}, None, "{a}"),
            TraceEvent(1, "same", 1, 1, "main", 1, {"b": 2}, None, "{b}!"),
            TraceEvent(2, "same", 2, 1, "main", 1, {"b": 3}, None, ""),
        ]
        written = [r["args"] for r in instants(trace.chrome_trace(events))]
        assert written == [
            {"a": 1, "message": "1"},
            {"b": 2, "message": "2!"},
            {"b": 3, "message": "b=3"},
        ]


def test_the_generated_writer_shows_its_source_in_a_traceback(unique: Unique) -> None:
    """A value whose ``__format__`` raises BaseException escapes with the generated line shown."""
    import traceback

    class Interrupting:
        def __format__(self, spec: str) -> str:
            raise KeyboardInterrupt

    name = unique("generated_tb")
    point = declare_tracepoint(name, "v", fmt="{v}")
    trace.clear()
    enable(name)
    point(Interrupting())
    disable(name)
    try:
        trace.chrome_trace(trace.snapshot().events)
    except KeyboardInterrupt as error:
        frames = traceback.extract_tb(error.__traceback__)
    else:
        raise AssertionError("the interrupt was swallowed")
    generated = [f for f in frames if f.filename.startswith("<osv_idioms generated trace args")]
    assert generated and generated[-1].line == "_osv_tp_m = f'{v}'"


def test_shapes_past_the_limit_are_written_without_compiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each generated writer keeps its source in linecache: past a bound, none is made."""
    import linecache

    from osv_idioms.trace import _texts

    monkeypatch.setattr(_texts, "_MOST_MADE", len(_texts._made))  # pyright: ignore[reportPrivateUsage]
    before = len(linecache.cache)
    events = [
        TraceEvent(n, "many_shapes", n, 1, "main", 1, {f"p{n}": n}, None, f"#{{p{n}}}")
        for n in range(50)
    ]
    written = [r["args"] for r in instants(trace.chrome_trace(events))]
    assert written == [{f"p{n}": n, "message": f"#{n}"} for n in range(50)]
    assert len(linecache.cache) == before
