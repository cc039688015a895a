"""osv_idioms.trace: declaring, enabling, counting, recording and probing tracepoints."""

from __future__ import annotations

import dis
import inspect
import json
import os
import re
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osv_idioms import environment, trace
from osv_idioms.errors import ProbeFailedWarning, TracepointError
from osv_idioms.trace import (
    TraceEvent,
    TraceSnapshot,
    count,
    declare_tracepoint,
    disable,
    enable,
    events,
    tracepoint,
    tracepoints,
)
from tests._forking import in_a_child, kill_if_stuck
from tests._scripts import run_script
from tests._watched import count_matches, watched_tracepoints

Unique = Callable[[str], str]
HERE = Path(__file__).resolve()


def info(name: str) -> trace.TracepointInfo:
    (found,) = tracepoints(name)
    return found


def declare_one(name: str, fmt: str = "{m!r}") -> Callable[[object], None]:
    """Declare a one-parameter tracepoint named ``name`` through the decorator."""

    @tracepoint(fmt, name=name)
    def trace_point(m: object) -> None: ...

    return trace_point


class TestDeclaration:
    def test_name_is_the_function_name_without_trace_prefix(self) -> None:
        """``trace_foo`` declares the tracepoint ``foo``, as OSv's TRACEPOINT does."""

        @tracepoint("{m!r}")
        def trace_decl_prefix_probe(m: object) -> None: ...

        assert info("decl_prefix_probe").parameters == ("m",)
        assert trace_decl_prefix_probe.__name__ == "trace_decl_prefix_probe"

    def test_name_keyword_overrides(self, unique: Unique) -> None:
        """``name=`` gives the tracepoint a name of the caller's choice."""
        name = unique("override")
        declare_one(name)
        assert info(name).format == "{m!r}"

    def test_signature_name_and_annotations_are_the_stubs(self, unique: Unique) -> None:
        """``inspect.signature`` and the function's names read as the stub's."""

        @tracepoint("{a} {b} {c}", name=unique("sig"))
        def trace_sig(a: int, /, b: str = "x", *, c: float = 1.5) -> None:
            """Traced when a, b and c happen."""

        def same_stub(a: int, /, b: str = "x", *, c: float = 1.5) -> None: ...

        assert inspect.signature(trace_sig) == inspect.signature(same_stub)
        assert str(inspect.signature(trace_sig)).startswith("(a: 'int', /, b: 'str' = 'x', *, c:")
        assert trace_sig.__name__ == "trace_sig"
        assert trace_sig.__qualname__.endswith("trace_sig")
        assert trace_sig.__doc__ == "Traced when a, b and c happen."
        assert trace_sig.__module__ == __name__

    def test_called_exactly_like_the_stub(self, unique: Unique) -> None:
        """Defaults, positional-only and keyword-only parameters behave as declared."""
        name = unique("call")

        @tracepoint("{a} {b} {c}", name=name)
        def trace_call(a: int, /, b: str = "x", *, c: float = 1.5) -> None: ...

        enable(name)
        trace_call(1)
        trace_call(2, "y", c=2.5)
        with pytest.raises(TypeError, match=r"trace_call\(\) got some positional-only"):
            trace_call(a=3)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match=r"takes from 1 to 2 positional arguments"):
            trace_call(1, "y", 2.5)  # type: ignore[call-arg]
        recorded = [(e.args, e.message) for e in events() if e.name == name]
        assert recorded == [
            ({"a": 1, "b": "x", "c": 1.5}, "1 x 1.5"),
            ({"a": 2, "b": "y", "c": 2.5}, "2 y 2.5"),
        ]

    def test_code_points_at_the_stub_for_tracebacks(self, unique: Unique) -> None:
        """A traceback through a tracepoint shows the stub's name, file and line."""

        @tracepoint("", name=unique("tb"))
        def trace_tb(m: object) -> None: ...

        line = inspect.getsourcelines(trace_tb)[1]

        def interrupt(_name: str, _args: tuple[object, ...]) -> None:
            raise KeyboardInterrupt  # not an Exception: it passes through the probe guard

        handle = trace.add_probe("t*_tb", interrupt)
        try:
            with pytest.raises(KeyboardInterrupt) as caught:
                trace_tb(1)
        finally:
            handle.remove()
        frames = traceback.extract_tb(caught.value.__traceback__)
        ours = [f for f in frames if f.name == "trace_tb"]
        assert len(ours) == 1
        assert Path(ours[0].filename).resolve() == HERE
        assert ours[0].lineno == line

    def test_same_object_whatever_is_switched_on(self, unique: Unique) -> None:
        """Enabling, counting and probing swap the body, never the object users imported."""
        name = unique("same")
        point = declare_one(name)
        before = point
        enable(name)
        with count(name):
            handle = trace.add_probe(name, lambda _n, _a: None)
            handle.remove()
        disable(name)
        assert point is before
        assert [t.name for t in tracepoints(name)] == [name]

    def test_unknown_template_field_is_refused(self) -> None:
        """A template naming no parameter fails at declaration, listing the parameters."""
        with pytest.raises(
            TracepointError,
            match=r"^tracepoint 'bad_field': template field \{size\} names no parameter; "
            r"the parameters are \(addr, length\)$",
        ):

            @tracepoint("{addr} {size}")
            def trace_bad_field(addr: int, length: int) -> None: ...

        assert tracepoints("bad_field") == ()

    def test_attribute_and_index_fields_use_their_root(self, unique: Unique) -> None:
        """``{m.name}`` and ``{v[0]}`` are checked by the parameter they start from."""
        name = unique("attr")

        @tracepoint("{m.__class__.__name__} {v[0]}", name=name)
        def trace_attr(m: object, v: list[int]) -> None: ...

        enable(name)
        trace_attr(1.5, [7])
        assert [e.message for e in events() if e.name == name] == ["float 7"]

    def test_malformed_template_is_refused(self) -> None:
        """A template ``str.format`` cannot parse fails at declaration."""
        with pytest.raises(TracepointError, match=r"^tracepoint 'bad_brace': bad template '\{m'"):

            @tracepoint("{m")
            def trace_bad_brace(m: object) -> None: ...

    @pytest.mark.parametrize(("star", "code"), [("*", "*args: object"), ("**", "**kw: object")])
    def test_star_parameters_are_refused(self, star: str, code: str) -> None:
        """``*args`` and ``**kwargs`` would hide what is traced: refused at declaration."""
        namespace: dict[str, Any] = {"tracepoint": tracepoint}
        source = f"@tracepoint()\ndef trace_star_{len(star)}({code}) -> None: ...\n"
        param = code.split(":", maxsplit=1)[0]
        with pytest.raises(
            TracepointError,
            match=rf"^tracepoint 'star_{len(star)}': parameter {re.escape(param)} is not allowed; "
            r"declare each traced value as a parameter of its own$",
        ):
            exec(source, namespace)

    def test_duplicate_name_names_both_places(self, unique: Unique) -> None:
        """Declaring a name twice at different places fails, naming both sites."""
        name = unique("dup")
        declare_one(name)
        site = info(name).site
        with pytest.raises(TracepointError) as caught:

            @tracepoint("", name=name)
            def trace_other(m: object) -> None: ...

        second_line = inspect.currentframe().f_lineno - 3  # type: ignore[union-attr]
        assert str(caught.value) == (
            f"tracepoint {name!r} declared at {__file__}:{second_line} is already declared "
            f"at {site}; give one of them another name"
        )
        assert info(name).site == site

    def test_same_site_again_returns_the_same_tracepoint(self, unique: Unique) -> None:
        """Running the same declaration again (a module reload) gives back the same object."""
        name = unique("again")
        assert declare_one(name) is declare_one(name)

    def test_bad_names_are_refused(self) -> None:
        """Names must be identifiers, so patterns and perf columns stay unambiguous."""
        with pytest.raises(TracepointError, match=r"^tracepoint name 'a-b' is not an identifier"):
            declare_tracepoint("a-b", "x")

    def test_internal_prefix_is_reserved(self) -> None:
        """Parameters may not shadow the body's own globals."""
        with pytest.raises(TracepointError, match=r"may not start with '_osv_tp_'$"):
            declare_tracepoint("reserved_param", "_osv_tp_c")

    def test_runtime_declaration(self, unique: Unique) -> None:
        """``declare_tracepoint`` makes a tracepoint with positional parameters at run time."""
        name = unique("runtime")
        point = declare_tracepoint(name, "depth", "who", fmt="{who} at {depth}")
        enable(name)
        point(3, "worker")
        (event,) = [e for e in events() if e.name == name]
        assert event.message == "worker at 3"
        assert point.__name__ == f"trace_{name}"
        assert info(name).site.startswith(f"{__file__}:")

    def test_runtime_declaration_checks_parameter_names(self) -> None:
        """A parameter that is not an identifier is refused with its name."""
        with pytest.raises(TracepointError, match=r"^tracepoint 'rt_bad': parameter '1x' is not"):
            declare_tracepoint("rt_bad", "1x")

    def test_tracepoints_report_state_and_site(self, unique: Unique) -> None:
        """``tracepoints()`` shows each one's state and where it was declared."""
        name = unique("listed")
        declare_tracepoint(name, "m")
        assert info(name) == trace.TracepointInfo(
            name, "", ("m",), info(name).site, False, False, False, 0
        )
        enable(name, backtrace=True)
        with count(name):
            assert info(name).counting
        assert info(name).recording
        assert info(name).backtrace


class TestEnabling:
    def test_wildcards_match_shell_style(self, unique: Unique) -> None:
        """``*`` and ``?`` select tracepoints as a shell would."""
        stem = unique("wild")
        for suffix in ("lock", "lock_wait", "unlock"):
            declare_tracepoint(f"{stem}_{suffix}", "m")
        enable(f"{stem}_lock*")
        enable(f"{stem}_?nlock")
        assert [(t.name, t.recording) for t in tracepoints(f"{stem}_*")] == [
            (f"{stem}_lock", True),
            (f"{stem}_lock_wait", True),
            (f"{stem}_unlock", True),
        ]
        disable(f"{stem}_lock_*")
        assert [t.recording for t in tracepoints(f"{stem}_*")] == [True, False, True]

    def test_patterns_apply_to_later_declarations(self, unique: Unique) -> None:
        """A pattern enabled before a tracepoint exists enables it when it is declared."""
        stem = unique("late")
        enable(f"{stem}_*")
        point = declare_tracepoint(f"{stem}_x", "v")
        point(42)
        assert [e.args for e in events() if e.name == f"{stem}_x"] == [{"v": 42}]

    def test_last_rule_wins(self, unique: Unique) -> None:
        """Enabling everything then disabling a subset leaves the subset off."""
        stem = unique("order")
        enable(f"{stem}*")
        disable(f"{stem}_quiet")
        declare_tracepoint(f"{stem}_quiet", "v")
        declare_tracepoint(f"{stem}_loud", "v")
        assert [(t.name, t.recording) for t in tracepoints(f"{stem}*")] == [
            (f"{stem}_loud", True),
            (f"{stem}_quiet", False),
        ]

    def test_disabled_tracepoint_records_nothing(self, unique: Unique) -> None:
        """Off, a call leaves no record."""
        name = unique("off")
        point = declare_tracepoint(name, "v")
        trace.clear()
        point(1)
        assert events() == []

    @pytest.mark.parametrize(
        ("bad", "kind", "message"),
        [
            (
                "",
                ValueError,
                "a tracepoint pattern must not be empty; '*' matches every tracepoint",
            ),
            (None, TypeError, "a tracepoint pattern must be a str, got None"),
            (3, TypeError, "a tracepoint pattern must be a str, got an int (3)"),
        ],
    )
    def test_bad_patterns_are_refused(self, bad: Any, kind: type[Exception], message: str) -> None:
        """A pattern must be a non-empty str, and the error says what arrived."""
        with pytest.raises(kind, match=rf"^{re.escape(message)}$"):
            enable(bad)

    def test_environment_patterns(self) -> None:
        """``OSV_TRACE`` is read as comma-separated patterns, blanks and spaces dropped."""
        assert environment.trace_patterns(" mutex_a , ,sched_b*") == ["mutex_a", "sched_b*"]
        assert environment.trace_patterns("") == []

    def test_osv_trace_variable_at_import(self, tmp_path: Path) -> None:
        """``OSV_TRACE`` enables its patterns when the module is imported, for later declarations too."""
        script = tmp_path / "envtrace.py"
        script.write_text(
            "from osv_idioms.trace import tracepoint, events\n"
            "@tracepoint('{v}')\n"
            "def trace_mutex_demo(v: int) -> None: ...\n"
            "@tracepoint('{v}')\n"
            "def trace_other(v: int) -> None: ...\n"
            "trace_mutex_demo(1); trace_other(2)\n"
            "print([(e.name, e.message) for e in events()])\n",
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, str(script)],
            env={
                **os.environ,
                "OSV_TRACE": "mutex_*,sched_*",
                "PYTHONPATH": str(HERE.parent.parent),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "[('mutex_demo', '1')]\n"


# Each count is garbage in a reference cycle, so the collector closes it at
# whatever allocation it starts on, some inside a declaration's registry change.
COUNTS_IN_CYCLES = """
import gc
from osv_idioms import trace
from osv_idioms.trace import count, declare_tracepoint

class Holder:
    def __init__(self, spec):
        self.counts = count(spec)
        self.me = self

for i in range(3_000):
    Holder(f"cycled_{i % 50}*")
    declare_tracepoint(f"cycled_{i}")
gc.collect()
print("still counting:", [info.name for info in trace.tracepoints() if info.counting])
"""


class TestCounting:
    def test_counts_the_collector_closes_midway_through_a_change_stop_counting(
        self, tmp_path: Path
    ) -> None:
        """A count closed while its thread is inside a registry change is finished, not lost.

        Without the queue, a count closed while a declaration attached it left
        the new tracepoint counting for ever, with no count left to read it.
        """
        done = run_script(tmp_path / "cycles.py", COUNTS_IN_CYCLES)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == "still counting: []\n"

    def test_count_block(self, unique: Unique) -> None:
        """Hits inside the block are counted; hits outside are not."""
        name = unique("cnt")
        point = declare_tracepoint(name, "v")
        point(0)
        with count(name) as counters:
            for i in range(5):
                point(i)
        point(9)
        assert counters[name] == 5
        assert dict(counters) == {name: 5}

    def test_counting_does_not_record(self, unique: Unique) -> None:
        """Counting is a probe of its own: it leaves the ring alone."""
        name = unique("cnt_only")
        point = declare_tracepoint(name, "v")
        trace.clear()
        with count(name) as counters:
            point(1)
        assert counters[name] == 1
        assert events() == []
        assert not info(name).counting

    def test_counting_and_recording_together(self, unique: Unique) -> None:
        """Both switched on, each sees every hit."""
        name = unique("both")
        point = declare_tracepoint(name, "v")
        enable(name)
        with count(name) as counters:
            point(1)
            point(2)
        assert counters[name] == 2
        assert [e.args["v"] for e in events() if e.name == name] == [1, 2]

    def test_live_counters_read_while_running(self, unique: Unique) -> None:
        """Counters read between hits show the count so far, then freeze on close."""
        name = unique("live")
        point = declare_tracepoint(name, "v")
        counters = count(name)
        seen = []
        for i in range(3):
            point(i)
            seen.append(counters[name])
        counters.close()
        point(3)
        assert seen == [1, 2, 3]
        assert counters[name] == 3
        assert "closed" in repr(counters)
        counters.close()  # harmless twice

    def test_patterns_sum_and_include_later_declarations(self, unique: Unique) -> None:
        """A pattern counts every tracepoint it matches, including ones declared later."""
        stem = unique("sum")
        first = declare_tracepoint(f"{stem}_a", "v")
        with count(f"{stem}_*", f"{stem}_b", f"{stem}_never") as counters:
            first(1)
            second = declare_tracepoint(f"{stem}_b", "v")
            second(2)
            second(3)
            assert counters.unmatched() == (f"{stem}_never",)
        assert dict(counters) == {f"{stem}_*": 3, f"{stem}_b": 2, f"{stem}_never": 0}

    def test_overlapping_counters_are_independent(self, unique: Unique) -> None:
        """Two counters on one tracepoint each count from their own start."""
        name = unique("overlap")
        point = declare_tracepoint(name, "v")
        with count(name) as outer:
            point(1)
            with count(name) as inner:
                point(2)
            point(3)
            assert info(name).counting
        assert (outer[name], inner[name]) == (3, 1)
        assert not info(name).counting

    def test_equal_counters_close_in_any_order(self, unique: Unique) -> None:
        """Two counters with equal counts are still two watchers: each close ends its own."""
        name = unique("twins")
        point = declare_tracepoint(name, "v")
        first, second = count(name), count(name)
        first.close()
        point(1)
        second.close()
        assert (first[name], second[name]) == (0, 1)
        assert not info(name).counting

    def test_unknown_key_is_a_key_error(self, unique: Unique) -> None:
        """Asking for a name that was not counted is a KeyError, open or closed."""
        name = unique("key")
        declare_tracepoint(name, "v")
        with count(name) as counters, pytest.raises(KeyError):
            counters["other"]
        with pytest.raises(KeyError):
            counters["other"]

    def test_count_needs_a_name(self) -> None:
        """``count()`` with nothing to count is a mistake."""
        with pytest.raises(
            TypeError, match=r"^count\(\) needs at least one tracepoint name or pattern$"
        ):
            count()


class TestRecording:
    def test_record_fields(self, unique: Unique) -> None:
        """A record has the name, a monotonic time, the thread and the argument values."""
        name = unique("rec")

        @tracepoint("{a}+{b}", name=name)
        def trace_rec(a: int, b: int) -> None: ...

        enable(name)
        before = time.monotonic_ns()
        trace_rec(1, 2)
        trace_rec(3, 4)
        after = time.monotonic_ns()
        first, second = [e for e in events() if e.name == name]
        assert before <= first.ns <= second.ns <= after
        assert second.seq == first.seq + 1
        assert (first.thread_name, first.thread_id) == (
            "MainThread",
            __import__("threading").get_ident(),
        )
        assert first.native_thread_id > 0
        assert (first.args, first.message, first.backtrace) == ({"a": 1, "b": 2}, "1+2", None)

    def test_backtrace_shows_the_caller(self, unique: Unique) -> None:
        """With ``backtrace=True`` a record carries the stack of whoever hit the tracepoint."""
        name = unique("bt")
        point = declare_tracepoint(name, "v")
        enable(name, backtrace=True)

        def caller_of_the_tracepoint() -> None:
            point(1)

        caller_of_the_tracepoint()
        (event,) = [e for e in events() if e.name == name]
        assert event.backtrace is not None
        assert event.backtrace[-1].name == "caller_of_the_tracepoint"
        assert event.backtrace[-2].name == "test_backtrace_shows_the_caller"

    def test_ring_overflow_is_counted(self, unique: Unique) -> None:
        """A full ring keeps the newest records and counts the ones it overwrote."""
        name = unique("ring")
        point = declare_tracepoint(name, "v")
        trace.set_buffer_size(10)
        enable(name)
        for i in range(25):
            point(i)
        taken = trace.snapshot()
        assert [e.args["v"] for e in taken.events] == list(range(15, 25))
        assert taken.overwritten == 15
        assert trace.buffer_size() == 10

    def test_clear_forgets_records_and_overwrites(self, unique: Unique) -> None:
        """``clear()`` empties the ring and resets the overwritten count."""
        name = unique("clear")
        point = declare_tracepoint(name, "v")
        trace.set_buffer_size(2)
        enable(name)
        for i in range(5):
            point(i)
        trace.clear()
        assert trace.snapshot() == TraceSnapshot((), 0)
        point(7)
        assert [e.args for e in events()] == [{"v": 7}]

    @pytest.mark.parametrize(
        ("size", "error", "message"),
        [
            (0, ValueError, f"buffer size must be from 1 to {sys.maxsize} records, got 0"),
            (-3, ValueError, f"buffer size must be from 1 to {sys.maxsize} records, got -3"),
            (
                10**30,
                ValueError,
                f"buffer size must be from 1 to {sys.maxsize} records, got {10**30}",
            ),
            (2.5, TypeError, "buffer size must be an int, got a float"),
            (True, TypeError, "buffer size must be an int, got a bool"),
        ],
    )
    def test_bad_buffer_sizes(self, size: Any, error: type[Exception], message: str) -> None:
        """Sizes that are not positive ints are refused, and the ring is kept."""
        trace.set_buffer_size(100)
        with pytest.raises(error, match=rf"^{re.escape(message)}$"):
            trace.set_buffer_size(size)
        assert trace.buffer_size() == 100

    def test_bad_template_shows_in_message_not_raises(self) -> None:
        """An argument the template cannot format shows as a note, so a viewer never crashes."""
        event = TraceEvent(0, "x", 0, 1, "t", 1, {"v": "text"}, None, "{v:d}")
        assert event.message.startswith("<bad format '{v:d}': ")
        assert TraceEvent(0, "x", 0, 1, "t", 1, {"v": 1, "w": "a"}, None, "").message == "v=1 w='a'"


class TestProbes:
    def test_probe_sees_name_and_arguments(self, unique: Unique) -> None:
        """A probe gets each hit's name and argument values, until it is removed."""
        name = unique("probe")
        point = declare_tracepoint(name, "a", "b")
        seen: list[tuple[str, tuple[object, ...]]] = []
        handle = trace.add_probe(name, lambda n, args: seen.append((n, args)))
        point(1, "x")
        assert handle.attached
        handle.remove()
        handle.remove()
        point(2, "y")
        assert seen == [(name, (1, "x"))]
        assert not handle.attached

    def test_probe_by_pattern_reaches_later_declarations(self, unique: Unique) -> None:
        """A probe attached by pattern is attached to tracepoints declared afterwards."""
        stem = unique("pp")
        seen: list[str] = []
        handle = trace.add_probe(f"{stem}_*", lambda n, _args: seen.append(n))
        declare_tracepoint(f"{stem}_new", "v")(1)
        handle.remove()
        assert seen == [f"{stem}_new"]

    def test_failing_probe_is_removed_with_a_warning(self, unique: Unique) -> None:
        """A probe that raises is detached and warned about; the traced call returns normally."""
        name = unique("boom")
        point = declare_tracepoint(name, "v")
        calls: list[object] = []

        def broken(_name: str, args: tuple[object, ...]) -> None:
            calls.append(args)
            raise ValueError("disk full")

        handle = trace.add_probe(name, broken)
        with pytest.warns(
            ProbeFailedWarning,
            match=rf"^probe TestProbes.test_failing_probe_is_removed_with_a_warning.<locals>.broken "
            rf"on tracepoint '{name}' raised ValueError: disk full; it has been removed$",
        ):
            assert point(1) is None
        point(2)
        assert calls == [(1,)]
        assert not handle.attached
        assert info(name).probes == 0

    def test_non_callable_probe_is_refused(self) -> None:
        """A probe must be callable; the error names what arrived."""
        with pytest.raises(
            TypeError, match=r"^a probe must be callable as probe\(name, args\), got an int \(3\)$"
        ):
            trace.add_probe("x", 3)  # type: ignore[arg-type]


class TestChromeTrace:
    def make(self, *hits: tuple[str, int, int]) -> TraceSnapshot:
        """Events from (name, ns, native thread id) triples."""
        return TraceSnapshot(
            tuple(
                TraceEvent(i, name, ns, tid, f"thread-{tid}", tid, {"v": i}, None, "")
                for i, (name, ns, tid) in enumerate(hits)
            ),
            0,
        )

    def test_written_file_parses_with_required_fields(self, unique: Unique, tmp_path: Path) -> None:
        """The JSON has instants with arguments, thread names, and the fields viewers need."""
        name = unique("chrome")
        point = declare_tracepoint(name, "obj", fmt="{obj!r}")
        trace.clear()
        enable(name)
        point(object())
        point("text")
        out = tmp_path / "trace.json"
        assert trace.write_chrome_trace(out) == 2
        document = json.loads(out.read_text(encoding="utf-8"))
        records = document["traceEvents"]
        metadata = [r for r in records if r["ph"] == "M"]
        instants = [r for r in records if r["ph"] == "i"]
        assert metadata == [
            {
                "name": "thread_name",
                "ph": "M",
                "pid": metadata[0]["pid"],
                "tid": instants[0]["tid"],
                "args": {"name": "MainThread"},
            }
        ]
        for record in instants:
            assert set(record) >= {"name", "ph", "ts", "pid", "tid", "args", "s"}
            assert record["name"] == name
        assert instants[0]["ts"] == 0
        assert instants[0]["args"]["obj"].startswith("<object object at")
        assert instants[1]["args"] == {"obj": "text", "message": "'text'"}
        assert document["otherData"] == {"overwritten": 0}

    def test_the_streamed_file_holds_what_chrome_trace_builds(
        self, unique: Unique, tmp_path: Path
    ) -> None:
        """Written record by record from the ring, the file has the same records as the document."""
        name = unique("streamed")
        point = declare_tracepoint(name, "n")
        done = declare_tracepoint(f"{name}_ret", "n")
        trace.clear()
        enable(f"{name}*")
        for n in range(50):
            point(n)
            if n % 3:
                done(n)
        taken = trace.snapshot()
        assert trace.write_chrome_trace(tmp_path / "t.json") == len(taken.events) == 83
        written = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
        built = trace.chrome_trace(taken.events)
        assert sorted(map(json.dumps, written["traceEvents"])) == sorted(
            map(json.dumps, built["traceEvents"])
        )
        assert written["otherData"] == {"overwritten": 0} and written["displayTimeUnit"] == "ns"
        assert trace.overwritten() == 0

    def test_a_snapshot_written_out_pairs_its_own_events(self, tmp_path: Path) -> None:
        """A snapshot made elsewhere names tracepoints this process never declared: still paired."""
        taken = self.make(("undeclared_fetch", 1000, 1), ("undeclared_fetch_ret", 4000, 1))
        assert trace.write_chrome_trace(tmp_path / "t.json", taken) == 2
        records = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))["traceEvents"]
        slices = [(r["name"], r["ts"], r["dur"]) for r in records if r["ph"] == "X"]
        assert slices == [("undeclared_fetch", 0, 3)]

    def test_exporting_holds_one_record_at_a_time_not_the_document(
        self, unique: Unique, tmp_path: Path
    ) -> None:
        """The memory an export needs beyond the ring does not grow with the events written.

        Measured with tracemalloc at 5,000 and 20,000 events: holding the
        whole document (1.2 KB an event) would make the second peak four
        times the first.
        """
        import tracemalloc

        name = unique("memory")
        point = declare_tracepoint(name, "n")
        peaks: list[int] = []
        trace.set_buffer_size(20_000)
        try:
            for events in (5_000, 20_000):
                trace.clear()
                enable(name)
                for n in range(events):
                    point(n)
                disable(name)
                tracemalloc.start()
                try:
                    assert trace.write_chrome_trace(tmp_path / "t.json") == events
                    peaks.append(tracemalloc.get_traced_memory()[1])
                finally:
                    tracemalloc.stop()
        finally:
            trace.set_buffer_size(trace.DEFAULT_BUFFER_SIZE)
        small, large = peaks
        ring_copy = (
            20_000 * 8 * 2
        )  # the sorted copy of the ring: a list of references, and its sort
        assert large < small + ring_copy, peaks

    def test_an_argument_whose_repr_raises_is_a_placeholder(
        self, unique: Unique, tmp_path: Path
    ) -> None:
        """One argument that cannot be shown does not sink the export or the summary."""

        class Unshowable:
            def __repr__(self) -> str:
                raise RuntimeError("no repr")

            def __format__(self, spec: str) -> str:
                raise LookupError("no format")

        plain, templated = unique("unshowable"), unique("unformattable")
        trace_plain = declare_tracepoint(plain, "obj")
        trace_templated = declare_tracepoint(templated, "obj", fmt="{obj}")
        trace.clear()
        enable(plain)
        enable(templated)
        trace_plain(Unshowable())
        trace_templated(Unshowable())
        trace_plain("fine")
        assert trace.write_chrome_trace(tmp_path / "t.json") == 3
        instants = [
            r["args"]
            for r in json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))["traceEvents"]
            if r["ph"] == "i"
        ]
        shown = "<Unshowable object: repr() raised RuntimeError: no repr>"
        assert instants == [
            {"obj": shown, "message": f"obj={shown}"},
            {"obj": shown, "message": "<bad format '{obj}': LookupError: no format>"},
            {"obj": "fine", "message": "obj='fine'"},
        ]
        assert trace.summary().counts == {plain: 2, templated: 1}

    def test_pairs_become_slices_per_thread(self) -> None:
        """``foo``/``foo_ret`` and ``mutex_lock_wait``/``mutex_lock_wake`` pair within a thread."""
        trace_ = self.make(
            ("read", 1000, 1),
            ("mutex_lock_wait", 1500, 2),
            ("read", 2000, 1),  # nested in thread 1
            ("read_ret", 2500, 1),
            ("read_err", 4000, 1),
            ("mutex_lock_wake", 9500, 2),
            ("read_ret", 9900, 3),  # no open read on thread 3: an instant only
        )
        slices = [
            (r["name"], r["tid"], r["ts"], r["dur"])
            for r in trace.chrome_trace(trace_.events)["traceEvents"]
            if r["ph"] == "X"
        ]
        assert slices == [
            ("read", 1, 1.0, 0.5),
            ("read", 1, 0.0, 3.0),
            ("mutex_lock_wait", 2, 0.5, 8.0),
        ]

    def test_summary_counts_and_durations(self) -> None:
        """The summary counts every hit and gives count, mean, p50, p99 and max of each pair."""
        hits: list[tuple[str, int, int]] = []
        for i, duration in enumerate([100, 200, 300, 400, 1000]):
            start = i * 10_000
            hits += [("io", start, 1), ("io_ret", start + duration, 1)]
        result = trace.summary(self.make(*hits))
        assert result.counts == {"io": 5, "io_ret": 5}
        assert result.durations == {
            "io": trace.DurationStats(5, 400.0, 300, 1000, 1000, 2000, 100, 1000)
        }
        table = str(result)
        assert table.splitlines()[0].split() == ["tracepoint", "count"]
        assert "io_ret" in table
        assert "1.0us" in table

    def test_summary_mentions_overwritten_records(self) -> None:
        """A summary of a trace that lost records says so."""
        result = trace.summary(TraceSnapshot((), 7))
        assert result.overwritten == 7
        assert "7 older records were overwritten" in str(result)

    @pytest.mark.parametrize(
        ("document", "message"),
        [
            ([], "the top level is not a JSON object"),
            ({}, "no 'traceEvents' list: not a Chrome trace"),
            ({"traceEvents": [3]}, "trace record 3 has no name"),
        ],
    )
    def test_summarize_refuses_other_documents(self, document: object, message: str) -> None:
        """A document that is not a trace of this shape is a ValueError saying why."""
        with pytest.raises(ValueError, match=rf"^{re.escape(message)}$"):
            trace.summarize(document)

    def test_only_ret_and_err_suffixes_and_the_mutex_wake_end_a_pair(self) -> None:
        """``x_ret`` and ``x_err`` close ``x``; ``_ret`` alone and ``x_retry`` close nothing."""
        trace_ = self.make(
            ("x", 1000, 1),
            ("x_err", 2000, 1),
            ("x", 3000, 1),
            ("x_retry", 3500, 1),
            ("_ret", 3600, 1),
            ("x_ret", 4000, 1),
        )
        slices = [
            (r["name"], r["args"]["end"], r["dur"])
            for r in trace.chrome_trace(trace_.events)["traceEvents"]
            if r["ph"] == "X"
        ]
        assert slices == [("x", "x_err", 1.0), ("x", "x_ret", 1.0)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_while_the_registry_was_busy_can_trace(unique: Unique) -> None:
    """A fork while another thread holds the registry lock leaves the child free to trace.

    The registry calls activity watchers with its lock held, so a watcher that
    waits holds the lock for as long as it waits. The child then declares and
    counts a tracepoint, which needs the lock.
    """
    from osv_idioms.trace.activity import watch_activity

    name, busy = unique("forked"), unique("busy")
    declare_tracepoint(busy)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock(active: bool) -> None:
        if active:
            holding.set()
            release.wait(30)

    watch_activity(busy, hold_the_lock)

    def hold() -> None:
        with trace.count(busy):  # counting turns the tracepoint on: the watcher is called
            pass

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30)

    def child() -> bool:
        point = declare_tracepoint(name, "v")
        with trace.count(name) as counters:
            point(1)
        return counters[name] == 1

    try:
        assert in_a_child(child) == 0
    finally:
        release.set()
        holder.join(30)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_inside_a_registry_change_comes_out_of_it(unique: Unique) -> None:
    """A watcher's callback runs inside the change that told it; a child it forks leaves that change.

    The child returns out of the callback, as the parent does, and goes on:
    a count it closes then stops its tracepoint counting, in both.
    """
    import warnings

    from osv_idioms.trace.activity import watch_activity

    name = unique("forker")
    point = declare_tracepoint(name, "v")
    forked: list[int] = []

    def fork_once(active: bool) -> None:
        if active and not forked:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running
                forked.append(os.fork())
            if forked[0] == 0:
                kill_if_stuck()

    watch_activity(name, fork_once)
    code = 2  # what a child that raised exits with
    try:
        with trace.count(name) as first:  # turns the tracepoint on: the watcher forks
            point(1)
        with trace.count(name) as second:
            point(2)
        counting = trace.tracepoints(name)[0].counting
        code = 0 if (first[name], second[name], counting) == (1, 1, False) else 1
    finally:
        if forked and forked[0] == 0:
            os._exit(code)
    _, status = os.waitpid(forked[0], 0)
    assert (os.waitstatus_to_exitcode(status), code) == (0, 0)


class TestPatternProperties:
    names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)

    @given(name=names, data=st.data())
    def test_a_star_for_any_slice_of_the_name_matches_it(
        self, name: str, data: st.DataObject
    ) -> None:
        """Replacing any slice of a name with ``*`` gives a pattern that matches it."""
        start = data.draw(st.integers(0, len(name)))
        end = data.draw(st.integers(start, len(name)))
        stem = f"star_{name}"  # each test its own prefix: a name is declared at one site only
        declare_tracepoint(stem, "v")
        pattern = f"star_{name[:start]}*{name[end:]}"
        assert stem in [t.name for t in tracepoints(pattern)]

    @given(name=names, data=st.data())
    def test_a_question_mark_stands_for_exactly_one_character(
        self, name: str, data: st.DataObject
    ) -> None:
        """``?`` in place of one character matches; an extra ``?`` at the end never does."""
        at = data.draw(st.integers(0, len(name) - 1))
        stem = f"any_{name}"
        declare_tracepoint(stem, "v")
        pattern = f"any_{name[:at]}?{name[at + 1 :]}"
        assert stem in [t.name for t in tracepoints(pattern)]
        assert stem not in [t.name for t in tracepoints(pattern + "?")]

    @given(name=names)
    def test_patterns_are_anchored_and_case_sensitive(self, name: str) -> None:
        """A name matches itself only: not a longer name, not its upper-case spelling."""
        stem = f"exact_{name}"
        declare_tracepoint(stem, "v")
        declare_tracepoint(f"{stem}X", "v")  # no drawn name has a capital: its own site only
        assert [t.name for t in tracepoints(stem)] == [stem]
        assert tracepoints(stem.upper()) == ()


def test_a_pairs_only_probe_reaches_the_timed_pairs_and_nothing_else(
    unique: Callable[[str], str],
) -> None:
    stem = unique("pp")
    op = trace.declare_tracepoint(f"{stem}_op", "n")
    tick = trace.declare_tracepoint(f"{stem}_tick", "n")
    seen: list[str] = []
    handle = trace.add_probe(f"{stem}_*", lambda name, args: seen.append(name), pairs=True)
    op(1)  # no end declared yet: not a pair
    op_err = trace.declare_tracepoint(f"{stem}_op_err", "n")
    op(2)
    op_err(2)
    tick(3)
    handle.remove()
    assert seen == [f"{stem}_op", f"{stem}_op_err"]
    assert [(t.name, t.probes) for t in trace.tracepoints(f"{stem}_*")] == [
        (f"{stem}_op", 0),
        (f"{stem}_op_err", 0),
        (f"{stem}_tick", 0),
    ]


def test_pairs_must_be_a_bool() -> None:
    with pytest.raises(TypeError) as refused:
        trace.add_probe("x", lambda name, args: None, pairs=1)  # type: ignore[arg-type]
    assert str(refused.value) == "pairs must be True or False, got an int (1)"


class TestSpecialisedCalls:
    """A tracepoint never switched on is called as a plain function is, on every interpreter.

    From 3.13 on, CPython specialises a call of a Python function only while
    the function keeps the version its ``def`` gave it; ``FunctionType()``,
    setting ``__defaults__`` and swapping ``__code__`` all clear it. The
    specialising interpreter shows what it made of a call site through
    ``dis``'s ``adaptive`` view.
    """

    @staticmethod
    def specialised_call(function: Callable[..., object]) -> list[str]:
        """The CALL instruction a call site of ``function`` became after 2,000 calls."""

        def call_site(f: Callable[..., object]) -> None:
            f(1)

        for _ in range(2000):
            call_site(function)
        return [
            instruction.opname
            for instruction in dis.get_instructions(call_site, adaptive=True)
            if instruction.opname.startswith("CALL")
        ]

    def test_off_as_made_and_after_the_ring_is_replaced(self, unique: Unique) -> None:
        def plain(a: object, b: object = None) -> None: ...

        default = object()

        @tracepoint("{a} {b}", name=unique("specialised"))
        def trace_specialised(a: object, b: object = default) -> None: ...

        expected = self.specialised_call(plain)
        assert self.specialised_call(trace_specialised) == expected
        trace.clear()  # refreshes every tracepoint: the same state swaps no code
        trace.set_buffer_size(128)
        assert self.specialised_call(trace_specialised) == expected
        assert trace_specialised.__defaults__ is not None
        assert trace_specialised.__defaults__[0] is default
        assert not [name for name in trace_specialised.__globals__ if "default" in name]


class TestActivityWatchers:
    """What the library's own packages are told when tracepoints start or stop working."""

    def test_told_when_the_first_turns_on_and_the_last_turns_off(self, unique: Unique) -> None:
        from osv_idioms.trace.activity import watch_activity

        stem = unique("watched")
        for suffix in ("a", "b", "c"):
            declare_tracepoint(f"{stem}_{suffix}", "v")
        told: list[bool] = []
        watch_activity(f"{stem}_*", told.append)
        enable(f"{stem}_a")
        enable(f"{stem}_b")
        disable(f"{stem}_a")
        assert told == [True], "still on while one matching point records"
        disable(f"{stem}_b")
        with count(f"{stem}_c"):
            assert told == [True, False, True]
        assert told == [True, False, True, False]
        enable(f"{stem}_*")  # a rule that also reaches a point declared later
        declare_tracepoint(f"{stem}_d", "v")
        disable(f"{stem}_a")
        disable(f"{stem}_b")
        disable(f"{stem}_c")
        assert told == [True, False, True, False, True], "the later point still records"
        disable(f"{stem}_*")
        assert told == [True, False, True, False, True, False]

    def test_a_watcher_made_while_points_are_on_is_told_at_once(self, unique: Unique) -> None:
        from osv_idioms.trace.activity import watch_activity

        stem = unique("already")
        declare_tracepoint(f"{stem}_a", "v")
        enable(f"{stem}_a")
        told: list[bool] = []
        watch_activity(f"{stem}_*", told.append)
        assert told == [True]
        disable(f"{stem}_a")
        assert told == [True, False]

    def test_switching_many_off_matches_each_point_a_bounded_number_of_times(
        self, unique: Unique, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A watcher hears of each change: switching n points off is O(n), not O(n²)."""
        from osv_idioms.trace.activity import watch_activity

        stem, many = unique("many"), 300
        for index in range(many):
            declare_tracepoint(f"{stem}_{index}", "v")
        watch_activity(f"{stem}_*", lambda active: None)
        enable(f"{stem}_*")
        declared = len(tracepoints())  # the rule's one pass goes over every point in the process
        calls = count_matches(monkeypatch)
        disable(f"{stem}_*")
        monkeypatch.undo()
        # Per point switched: the rules, the probe rules and each watcher's pattern.
        assert calls[0] <= declared + 8 * many, (calls[0], declared)

    def test_watchers_of_one_name_each_cost_no_pattern_match(
        self, unique: Unique, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """As ``probe_function`` watches its three tracepoints: each is told of its own alone."""
        stem, many = unique("named"), 300
        told = watched_tracepoints(stem, many)
        enable(f"{stem}_1")
        assert told[f"{stem}_1"] == [True] and told[f"{stem}_2"] == []
        declared = len(tracepoints())
        calls = count_matches(monkeypatch)
        enable(f"{stem}_*")
        disable(f"{stem}_*")
        monkeypatch.undo()
        assert all(history[-2:] == [True, False] for history in told.values())
        assert calls[0] <= 2 * (declared + 8 * many), (calls[0], declared)
