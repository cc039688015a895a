"""osv_idioms.callbacks: Function, bind, bind_weak, and the shape checks behind them."""

from __future__ import annotations

import functools
import gc
import types
import weakref
from typing import Any, ParamSpec, TypeVar, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osv_idioms.callbacks import (
    Arity,
    Bound,
    Function,
    Placeholder,
    _1,
    _2,
    _3,
    arity,
    bind,
    bind_weak,
    describe,
    weakly_bound,
)
from osv_idioms.errors import BadFunctionCall, ExpiredCallbackError

P = ParamSpec("P")
R = TypeVar("R")


class Device:
    def __init__(self, name: str = "sda") -> None:
        self.name = name
        self.reads: list[tuple[int, int]] = []

    def read(self, offset: int, size: int = 512) -> str:
        self.reads.append((offset, size))
        return f"{self.name}: {size} at {offset}"

    def anything(
        self, *args: object, **kwargs: object
    ) -> tuple[tuple[object, ...], dict[str, object]]:
        return args, kwargs

    def timed(self, size: int, *, timeout: float) -> float:
        return size * timeout


def on_irq(level: int) -> None:
    pass


def on_two(level: int, extra: str) -> None:
    pass


class TestFunction:
    def test_calls_what_it_holds(self) -> None:
        """A set Function passes its arguments through and returns the result."""
        read = Function[[int], str](Device().read)
        assert read(7) == "sda: 512 at 7"

    def test_empty_is_false_and_raises_bad_function_call(self) -> None:
        """Calling an empty Function raises BadFunctionCall naming its declared shape."""
        handler = Function[[int], None]()
        assert not handler
        with pytest.raises(
            BadFunctionCall,
            match=r"^can't call an empty Function\[\[int\], None\]: assign a callable first$",
        ):
            handler(1)

    def test_assign_sets_and_none_empties(self) -> None:
        """assign() sets the target, and assign(None) empties it again."""
        handler = Function[[int], None]()
        handler.assign(on_irq)
        assert handler and handler.target is on_irq
        handler.assign(None)
        assert not handler and handler.target is None

    def test_wrong_shape_is_refused_at_assignment_with_both_shapes(self) -> None:
        """A target needing two arguments can't go where one is passed; the old one stays."""
        handler = Function[[int], None](on_irq)
        message = (
            r"^can't assign on_two\(level: int, extra: str\) -> None to Function\[\[int\], None\]: "
            r"it takes 2 positional arguments, and the Function passes 1$"
        )
        with pytest.raises(TypeError, match=message):
            handler.assign(on_two)  # type: ignore[arg-type]
        assert handler.target is on_irq

    def test_wrong_shape_is_refused_at_construction(self) -> None:
        """The check also runs when the target is given to the constructor."""

        def no_arguments() -> None:
            pass

        with pytest.raises(
            TypeError, match=r"it takes no positional arguments, and the Function passes 1$"
        ):
            Function[[int], None](no_arguments)  # type: ignore[arg-type]

    def test_required_keyword_is_refused(self) -> None:
        """A target with a keyword-only parameter without default can't be called positionally."""
        with pytest.raises(
            TypeError, match=r"it needs keyword argument timeout, and the Function passes 1$"
        ):
            Function[[int], float](Device().timed)  # type: ignore[arg-type]

    def test_not_callable_is_refused(self) -> None:
        """A non-callable target gets a TypeError naming its type."""
        handler = Function[[int], None]()
        with pytest.raises(
            TypeError,
            match=r"^can't assign 42 to Function\[\[int\], None\]: an int is not callable$",
        ):
            handler.assign(42)  # type: ignore[arg-type]

    def test_flexible_targets_are_accepted(self) -> None:
        """Defaults and *args can absorb the declared arguments."""
        handler = Function[[int, int], Any]()
        handler.assign(Device().read)
        handler.assign(lambda *args: args)
        assert handler(1, 2) == (1, 2)

    def test_unsubscripted_accepts_any_callable(self) -> None:
        """Without a run-time subscript there is nothing to check against."""
        handler = Function(on_two)
        assert handler.target is on_two
        assert type(handler) is Function

    def test_ellipsis_accepts_any_callable(self) -> None:
        """Function[..., R] declares any arguments: every shape is taken and called as it is."""
        seen: list[tuple[object, ...]] = []

        def two(level: int, extra: str) -> None:
            seen.append((level, extra))

        handler = Function[..., None](two)
        handler(1, "x")
        handler.assign(lambda *args: seen.append(args))
        handler()
        assert seen == [(1, "x"), ()]

    def test_a_bare_type_is_one_parameter(self) -> None:
        """Function[int, None] is spelled differently but declares one argument, like [[int], None]."""
        with pytest.raises(TypeError, match=r"and the Function passes 1$"):
            Function[int, None](on_two)  # type: ignore[misc]

    def test_subscripts_are_cached_classes(self) -> None:
        """The same subscript gives the same class, a subclass of Function."""
        assert Function[[int], None] is Function[[int], None]
        assert issubclass(Function[[int], None], Function)
        assert Function[[int], None].__name__ == "Function[[int], None]"

    def test_generic_subscript_stays_an_alias(self) -> None:
        """With type variables left in, the subscript is a typing alias, not a class."""
        alias = Function[P, R]
        assert alias.__origin__ is Function  # type: ignore[attr-defined]

    def test_builtin_without_signature_is_accepted(self) -> None:
        """When Python can't read a signature, the call itself will tell."""
        no_signature: Any = max
        handler = Function[[int], Any](no_signature)
        assert handler.target is no_signature
        with pytest.raises(TypeError, match="'int' object is not iterable"):
            handler(0)

    def test_repr_shows_the_target(self) -> None:
        """repr names the declared shape and what is held."""
        assert (
            repr(Function[[int], None](on_irq))
            == "Function[[int], None](on_irq(level: int) -> None)"
        )
        assert repr(Function[[int], None]()) == "Function[[int], None]()"


class TestBind:
    def test_without_placeholders_it_is_partial(self) -> None:
        """With no placeholder, bind is functools.partial: call arguments are appended."""
        device = Device()
        read = bind(device.read, 4096)
        assert isinstance(read, functools.partial)
        assert read(1024) == "sda: 1024 at 4096"

    def test_placeholders_reorder_arguments(self) -> None:
        """_2, _1 swap the call's arguments, as std::bind does."""
        read = bind(Device().read, _2, _1)
        assert read(100, 8) == "sda: 100 at 8"

    def test_placeholders_as_keyword_values(self) -> None:
        """A placeholder can stand for a keyword argument."""
        read = bind(Device().read, size=_1, offset=_2)
        assert read(64, 0) == "sda: 64 at 0"

    def test_unnamed_lower_argument_is_dropped(self) -> None:
        """Naming only _2 means the first call argument is ignored."""
        read = bind(Device().read, _2)
        assert read("ignored", 5) == "sda: 512 at 5"

    def test_call_keywords_are_added(self) -> None:
        """Keyword arguments of the call go to the target too."""
        read = bind(Device().read, _1)
        assert read(3, size=1) == "sda: 1 at 3"

    def test_wrong_count_of_call_arguments(self) -> None:
        """A call must pass exactly as many positional arguments as the highest placeholder."""
        read = bind(Device().read, _2, _1)
        with pytest.raises(
            TypeError, match=r"^bind\(Device.read, _2, _1\) takes 2 positional arguments, got 3$"
        ):
            read(1, 2, 3)
        with pytest.raises(TypeError, match=r"takes 1 positional argument, got 0$"):
            bind(on_irq, _1)()

    def test_arguments_are_checked_when_binding(self) -> None:
        """Binding more arguments than the target takes fails at bind(), not at the call."""
        message = (
            r"^can't bind on_irq\(level: int\) -> None to \(1, 2\): too many positional arguments$"
        )
        with pytest.raises(TypeError, match=message):
            bind(on_irq, 1, 2)

    def test_placeholders_must_complete_the_call(self) -> None:
        """With placeholders the binding must be complete: a missing argument is an error now."""
        with pytest.raises(
            TypeError,
            match=r"^can't bind on_two\(.*\) -> None to \(_1\): missing a required argument: 'extra'$",
        ):
            bind(on_two, _1)

    def test_unknown_keyword_is_refused(self) -> None:
        """A keyword the target doesn't have fails at bind()."""
        with pytest.raises(TypeError, match=r"got an unexpected keyword argument 'sized'$"):
            bind(Device().read, sized=1)

    def test_not_callable(self) -> None:
        """bind() of a non-callable says so."""
        with pytest.raises(TypeError, match=r"^can't bind 3: an int is not callable$"):
            bind(3)  # type: ignore[arg-type]

    def test_builtin_without_signature_binds(self) -> None:
        """A builtin with no signature is bound unchecked."""
        assert bind(max, _2, _1)(1, 9) == 9

    def test_bound_repr(self) -> None:
        """A Bound shows how it was made."""
        read = bind(on_two, _1, extra="x")
        assert isinstance(read, Bound)
        assert repr(read) == "bind(on_two, _1, extra='x')"

    def test_placeholder_index_is_checked(self) -> None:
        """Placeholders count from 1."""
        assert Placeholder(4).index == 4
        assert repr(_3) == "_3"
        with pytest.raises(
            ValueError, match=r"^a placeholder stands for argument 1 or later, got 0$"
        ):
            Placeholder(0)


class TestBindWeak:
    def test_calls_the_method_on_its_object(self) -> None:
        """A weakly bound method behaves as the bound method while the object lives."""
        device = Device()
        read = bind_weak(device.read)
        assert read(4, 8) == "sda: 8 at 4"
        assert read(offset=4) == "sda: 512 at 4"  # names and defaults are the method's

    def test_does_not_keep_the_object_alive(self) -> None:
        """The callback doesn't keep its object: once it is gone, calling raises."""
        device = Device()
        read = bind_weak(device.read)
        del device
        gc.collect()
        with pytest.raises(
            ExpiredCallbackError,
            match=r"^can't call Device.read: its object was garbage-collected$",
        ):
            read(0)

    def test_methods_with_star_args_and_keywords(self) -> None:
        """Methods with *args, **kwargs or keyword-only parameters are forwarded whole."""
        device = Device()
        assert bind_weak(device.anything)(1, x=2) == ((1,), {"x": 2})
        assert bind_weak(device.timed)(2, timeout=0.5) == 1.0

    def test_two_objects_of_one_class(self) -> None:
        """Each callback calls its own object, although they share a method."""
        first, second = Device("a"), Device("b")
        assert (bind_weak(first.read)(0), bind_weak(second.read)(0)) == (
            "a: 512 at 0",
            "b: 512 at 0",
        )

    def test_with_bound_arguments_and_placeholders(self) -> None:
        """bind_weak takes arguments and placeholders like bind, checked against the method."""
        device = Device()
        assert bind_weak(device.read, _2, _1)(8, 4) == "sda: 8 at 4"
        assert bind_weak(device.read, 16)(32) == "sda: 32 at 16"
        with pytest.raises(
            TypeError,
            match=r"^can't bind Device.read\(offset: int, size: int = 512\) -> str to \(1, 2, 3\)",
        ):
            bind_weak(device.read, 1, 2, 3)

    def test_methods_sharing_code_keep_their_own_defaults(self) -> None:
        """Methods made in a loop share their code, not their defaults: each keeps its own."""

        def make(default: int) -> Any:
            class Sized:
                def size(self, value: int = default) -> int:
                    return value

            return Sized()

        first, second = make(1), make(2)
        assert (bind_weak(first.size)(), bind_weak(second.size)()) == (1, 2)
        assert bind_weak(first.size)(5) == 5

    def test_parameter_names_of_the_forwarder_itself(self) -> None:
        """A method whose parameters clash with the forwarder's names still works."""

        class Odd:
            def call(self, _expired: int, __ref: int = 2) -> int:
                return _expired + __ref

        odd = Odd()
        assert bind_weak(odd.call)(1) == 3

    def test_forwarders_kept_are_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The forwarders kept per method are forgotten past a bound, and made again."""
        from osv_idioms.callbacks import _bind

        kept: dict[object, object] = {}
        monkeypatch.setattr(_bind, "_forwarders", kept)
        monkeypatch.setattr(_bind, "_FORWARDERS_KEPT", 1)
        device = Device()
        bind_weak(device.read)
        bind_weak(device.anything)
        assert list(kept) == [Device.anything]
        assert bind_weak(device.read)(1) == "sda: 512 at 1"

    def test_repr_names_the_method_and_the_weak_reference(self) -> None:
        """A weakly bound method shows the method's name and the weak reference."""
        device = Device()
        shown = repr(bind_weak(device.read))
        assert shown.startswith("<bound method Device.read of <weakref at 0x")
        assert "; to 'tests.test_callbacks.Device' at 0x" in shown or "; to 'Device' at 0x" in shown

    def test_not_a_bound_method(self) -> None:
        """A plain function or a builtin method is refused with a hint."""
        with pytest.raises(
            TypeError, match=r"^bind_weak\(\) takes a bound method such as device.read, got on_irq$"
        ):
            bind_weak(on_irq)
        with pytest.raises(TypeError, match=r"got list.append$"):
            bind_weak([].append)
        with pytest.raises(TypeError, match=r"got len$"):
            bind_weak(types.MethodType(len, Device()))

    def test_object_without_weakref_slot(self) -> None:
        """An object that can't be weakly referenced gets an explanation."""

        class Slotted:
            __slots__ = ()

            def read(self) -> int:
                return 1

        message = (
            r"^can't bind .*Slotted.read weakly: .*Slotted objects can't be weakly referenced "
            r"\(add '__weakref__' to its __slots__\)$"
        )
        with pytest.raises(TypeError, match=message):
            bind_weak(Slotted().read)


class TestShape:
    @pytest.mark.parametrize(
        ("fn", "expected"),
        [
            (on_irq, Arity(1, 1)),
            (lambda: None, Arity(0, 0)),
            (lambda a, b=1: None, Arity(1, 2)),
            (lambda *a: None, Arity(0, None)),
            (lambda a, *, k: None, Arity(1, 1, ("k",))),
            (lambda a, *, k=1: None, Arity(1, 1)),
            (Device().read, Arity(1, 2)),
            (Device.read, Arity(2, 3)),
            (functools.partial(on_two, 1), Arity(1, 1)),
            (max, None),
        ],
    )
    def test_arity(self, fn: Any, expected: Arity | None) -> None:
        """arity() reads functions, methods and other callables; None when Python can't tell."""
        assert arity(fn) == expected

    def test_method_with_only_star_args(self) -> None:
        """A method taking only *args keeps no required argument after self."""

        class Free:
            def any(*args: object) -> None:
                pass

        assert arity(Free().any) == Arity(0, None)

    @pytest.mark.parametrize(
        ("shape", "words"),
        [
            (Arity(0, 0), "it takes no positional arguments"),
            (Arity(1, 1), "it takes 1 positional argument"),
            (Arity(2, 2), "it takes 2 positional arguments"),
            (Arity(1, 3), "it takes 1 to 3 positional arguments"),
            (Arity(1, None), "it takes at least 1 positional argument"),
            (Arity(2, None), "it takes at least 2 positional arguments"),
            (Arity(0, 0, ("a", "b")), "it needs keyword arguments a, b"),
        ],
    )
    def test_explain(self, shape: Arity, words: str) -> None:
        """Each shape is put in words for messages."""
        assert shape.explain() == words

    def test_accepts_and_passed(self) -> None:
        """accepts() and passed() agree with the bounds."""
        shape = Arity(1, 2)
        assert [shape.accepts(n) for n in range(4)] == [False, True, True, False]
        assert [shape.passed(n) for n in range(4)] == [0, 1, 2, 2]
        assert Arity(0, None).passed(5) == 5

    def test_signature_retries_the_ast_race(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """CPython 3.11's spurious AST SystemError is retried; any other SystemError is not."""
        import inspect

        from osv_idioms.callbacks import _shape

        real = inspect.signature
        failures = ["AST constructor recursion depth mismatch (before=5, after=3)"] * 2

        def flaky(fn: Any) -> inspect.Signature:
            if failures:
                raise SystemError(failures.pop())
            return real(fn)

        monkeypatch.setattr(inspect, "signature", flaky)
        assert str(_shape.signature_of(on_irq)) == "(level: 'int') -> 'None'"
        failures.append("something else")
        with pytest.raises(SystemError, match=r"^something else$"):
            _shape.signature_of(on_irq)
        failures.extend(["AST constructor recursion depth mismatch"] * 5)
        with pytest.raises(SystemError, match=r"^AST constructor"):
            _shape.signature_of(on_irq)

    def test_describe(self) -> None:
        """describe() names a callable with its signature, annotations as written."""
        assert describe(Device().read) == "Device.read(offset: int, size: int = 512) -> str"
        assert describe(max) == "max(...)"
        assert describe(3) == "int object(...)"
        assert describe(functools.partial(on_irq)) == "partial object(level: int) -> None"


class TestBindProperties:
    @given(order=st.permutations(range(5)), values=st.lists(st.integers(), min_size=5, max_size=5))
    def test_placeholders_place_the_call_arguments_where_they_stand(
        self, order: list[int], values: list[int]
    ) -> None:
        """``bind(f, _{o0+1}, _{o1+1}, ...)`` called with v passes v[o0], v[o1], ... in that order."""
        bound = bind(lambda *args: args, *(Placeholder(index + 1) for index in order))
        assert bound(*values) == tuple(values[index] for index in order)

    @given(fixed=st.lists(st.integers(), max_size=3), values=st.lists(st.integers(), max_size=3))
    def test_without_placeholders_bind_appends_as_partial_does(
        self, fixed: list[int], values: list[int]
    ) -> None:
        """Fixed arguments first, then the call's: ``bind`` is ``functools.partial`` then."""
        assert bind(lambda *args: args, *fixed)(*values) == (*fixed, *values)


class TestWeaklyBoundMethodsAsValues:
    def test_equal_for_the_same_function_and_object(self) -> None:
        """Two ``bind_weak`` of one method of one object are equal and hash alike; others are not."""
        device, other = Device(), Device()
        assert bind_weak(device.read) == bind_weak(device.read)
        assert hash(bind_weak(device.read)) == hash(bind_weak(device.read))
        assert bind_weak(device.read) != bind_weak(other.read)
        assert bind_weak(device.read) != cast("object", bind_weak(device.anything))
        assert bind_weak(device.read) != device.read
        assert len({bind_weak(device.read), bind_weak(device.read), bind_weak(other.read)}) == 2

    def test_still_equal_once_the_object_is_gone(self) -> None:
        """Equality is of what was bound: two made before the object died stay equal."""
        device = Device()
        first, second = bind_weak(device.read), bind_weak(device.read)
        del device
        gc.collect()
        assert first == second

    def test_bound_to_the_one_weak_reference_of_its_object(self) -> None:
        """Each ``bind_weak`` of an object's methods is bound to that object's one weak reference."""
        device = Device()
        read, anything = (
            weakly_bound(bind_weak(device.read)),
            weakly_bound(bind_weak(device.anything)),
        )
        assert read is not None and anything is not None
        assert read[1] is anything[1] is weakref.ref(device)
        assert (read[0], anything[0]) == (Device.read, Device.anything)

    def test_equal_even_after_thousands_of_other_methods_were_bound(self) -> None:
        """A method's callbacks stay equal however many other methods were bound in between."""
        device = Device()
        before = bind_weak(device.read)

        def make() -> Any:
            def method(self: object) -> None: ...

            return method

        for _ in range(5000):  # more functions than the fast table of forwarders keeps
            bind_weak(types.MethodType(make(), device))
        assert bind_weak(device.read) == before
