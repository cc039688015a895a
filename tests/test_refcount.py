"""osv_idioms.refcount: shared, weak and intrusive handles to resources."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osv_idioms import rcu
from osv_idioms.errors import BadWeakPtr, LeakedHandleError, RefCountError, ReleasedHandleError
from osv_idioms.refcount import (
    IntrusivePtr,
    IntrusiveRefCounted,
    SharedFromThis,
    SharedPtr,
    make_shared,
    ref_if_positive,
    set_strict,
)
from tests._scripts import run_script

COLLECTOR_ON_A_HELD_STRIPE = """
import faulthandler, gc, warnings
from osv_idioms.errors import RefCountError
from osv_idioms.refcount import IntrusivePtr, IntrusiveRefCounted, SharedPtr, ref_if_positive
from osv_idioms.refcount._common import stripe_for  # which of the 64 locks a count is under

faulthandler.dump_traceback_later(30, exit=True)  # a thread waiting for itself fails, not hangs
warnings.simplefilter("ignore", ResourceWarning)  # the leaks below are on purpose

class Node(IntrusiveRefCounted):
    __slots__ = ("handles",)

def leak(*handles):  # in a cycle: only the collector frees (and so releases) them
    holder = Node()
    holder.handles = [holder, *handles]

def on_the_stripe_of(target):
    node = Node()
    others = [node]
    while stripe_for(node) is not stripe_for(target):
        node = Node()
        others.append(node)
    return node

def first_count():
    node = Node()
    leak(IntrusivePtr(on_the_stripe_of(node)))
    return lambda: (node.add_ref(), node.release()), lambda: node.ref_count, 0

def a_count_the_collector_changes_too():
    node = Node()
    owners.append(IntrusivePtr(node))
    leak(IntrusivePtr(node), IntrusivePtr(on_the_stripe_of(node)))
    return node.add_ref, lambda: node.ref_count, 2

def a_release_too_many():
    node = Node()
    leak(IntrusivePtr(on_the_stripe_of(node)))
    def release():
        try:
            node.release()
        except RefCountError:
            pass
    return release, lambda: node.ref_count, 0

def a_lookup():
    node = Node()
    owners.append(IntrusivePtr(node))
    leak(IntrusivePtr(node), IntrusivePtr(on_the_stripe_of(node)))
    return lambda: ref_if_positive(node).release(), lambda: node.ref_count, 1

def a_weak_handle():
    owner = SharedPtr(Node())
    watcher = owner.weak()
    control = owner._control  # a weak count's stripe is its control block's
    leak(owner.weak(), IntrusivePtr(on_the_stripe_of(control)))
    return lambda: owner.weak().reset(), lambda: watcher.weak_count, 1

owners = []  # the handles a case keeps until its count is read
wrong = []
for case in (first_count, a_count_the_collector_changes_too, a_release_too_many, a_lookup, a_weak_handle):
    for threshold in range(1, 41):  # so that a collection starts at each step in turn
        for _ in range(5):
            gc.disable()  # the cycle stays young, for the next collection to free it
            act, count, expected = case()
            gc.set_threshold(threshold)
            gc.enable()
            act()
            gc.collect()
            if count() != expected:
                wrong.append((case.__name__, threshold, count()))
            owners.clear()
print("wrong counts:", wrong[:3], len(wrong))
"""


class Device:
    """A resource that counts its closes: exactly one is the only right answer."""

    def __init__(self, name: str = "dev") -> None:
        self.name = name
        self.closes = 0

    def close(self) -> None:
        self.closes += 1


class File(IntrusiveRefCounted):
    def __init__(self) -> None:
        self.closes = 0

    def close(self) -> None:
        self.closes += 1


@pytest.fixture
def strict_off() -> Iterator[None]:
    yield
    set_strict(False)


class TestSharedPtr:
    def test_a_coroutine_function_factory_is_refused(self) -> None:
        """Its call would only make a coroutine, and the handle would own that."""

        async def open_device() -> Device:
            return Device("eth0")

        with pytest.raises(TypeError) as refused:
            make_shared(open_device)
        assert str(refused.value) == (
            "make_shared()'s factory must be callable as factory(*args, **kwargs), got the "
            "coroutine function 'TestSharedPtr.test_a_coroutine_function_factory_is_refused."
            "<locals>.open_device': calling it would only make a coroutine that nothing awaits"
        )

    @pytest.mark.skipif(sys.version_info < (3, 12), reason="inspect.markcoroutinefunction: 3.12")
    def test_a_class_is_a_factory_even_marked_as_a_coroutine_function(self) -> None:
        """Calling a class makes an instance, whatever ``inspect`` was told about it."""
        import inspect

        class Marked(Device):
            pass

        getattr(inspect, "markcoroutinefunction")(Marked)  # noqa: B009 - not in 3.11's stubs
        marked = inspect.iscoroutinefunction(Marked)  # a variable: no narrowing of Marked
        assert marked
        with make_shared(Marked, "eth1") as owner:
            device = owner.get()
        assert device.closes == 1

    def test_last_release_closes_once(self) -> None:
        """The deleter runs exactly once, when the last owner lets go."""
        driver = make_shared(Device, "eth0")
        users = [driver.clone(), driver.clone()]
        device = driver.get()
        driver.release()
        users[0].release()
        assert (device.closes, users[1].use_count) == (0, 1)
        users[1].release()
        assert (device.closes, driver.use_count) == (1, 0)

    def test_release_is_idempotent_per_handle(self) -> None:
        """Releasing one handle twice counts once: it cannot steal another owner's share."""
        first = make_shared(Device)
        second = first.clone()
        first.release()
        first.release()
        assert second.use_count == 1
        assert second.get().closes == 0
        second.release()

    def test_context_manager_releases(self) -> None:
        """Leaving the with block releases the handle, on exceptions too."""
        with pytest.raises(KeyError), make_shared(Device) as handle:
            device = handle.get()
            raise KeyError("boom")
        assert handle.released
        assert device.closes == 1

    def test_wrapping_an_existing_object_with_a_deleter(self) -> None:
        """SharedPtr(obj, deleter=...) runs that deleter instead of close()."""
        deleted: list[Device] = []
        device = Device()
        handle = SharedPtr(device, deleter=deleted.append)
        handle.release()
        assert (deleted, device.closes) == ([device], 0)

    def test_object_without_close(self) -> None:
        """The default deleter leaves objects without close() alone."""
        handle = SharedPtr([1, 2])
        handle.release()
        assert handle.use_count == 0

    def test_get_and_clone_after_release(self) -> None:
        """A released handle refuses get() and clone(), naming the resource."""
        handle = make_shared(Device)
        label = f"Device object at {id(handle.get()):#x}"
        handle.release()
        with pytest.raises(
            ReleasedHandleError,
            match=rf"^get\(\) on a released SharedPtr to {label}; clone\(\) a live handle",
        ):
            handle.get()
        with pytest.raises(
            ReleasedHandleError, match=rf"^clone\(\) of a released SharedPtr to {label}$"
        ):
            handle.clone()
        assert isinstance(ReleasedHandleError("x"), ValueError)

    def test_deleter_exception_reaches_the_last_releaser(self) -> None:
        """A raising deleter's exception reaches the caller; the handle is released anyway."""

        def broken(_obj: object) -> None:
            raise OSError("device busy")

        handle = SharedPtr(Device(), deleter=broken)
        with pytest.raises(OSError, match=r"^device busy$"):
            handle.release()
        assert handle.released
        handle.release()  # nothing left to do: no second call of the deleter

    def test_factory_failure_leaves_nothing(self) -> None:
        """If the factory raises there is no handle and nothing to release."""

        def failing() -> Device:
            raise ValueError("no such device")

        with pytest.raises(ValueError, match="no such device"):
            make_shared(failing)

    def test_bad_arguments(self) -> None:
        """A non-callable factory or deleter is refused at the call."""
        with pytest.raises(
            TypeError,
            match=r"^make_shared\(\)'s factory must be callable as factory\(\*args, \*\*kwargs\), got an int \(3\)$",
        ):
            make_shared(3)  # type: ignore[arg-type]
        with pytest.raises(
            TypeError, match=r"^deleter must be callable as deleter\(obj\), got a str \('close'\)$"
        ):
            SharedPtr(Device(), deleter="close")  # type: ignore[arg-type]

    def test_deleter_after_a_grace_period(self) -> None:
        """With rcu=domain, the deleter waits for read sections that could see the object."""
        domain = rcu.RcuDomain("refcount")
        try:
            handle = make_shared(Device, rcu=domain)
            device = handle.get()
            with domain.read_lock():
                handle.release()
                assert device.closes == 0  # a reader may still be using it
            domain.barrier(timeout=30)
            assert device.closes == 1
        finally:
            domain.close()

    def test_repr(self) -> None:
        """The repr names the resource and the count."""
        handle = make_shared(Device)
        assert repr(handle).endswith("use_count=1>")
        handle.release()
        assert repr(handle).endswith(" released>")


class TestWeakPtr:
    def test_lock_while_alive_then_none(self) -> None:
        """lock() gives a new owner while any owner lives, then None, even if the object lives on."""
        owner = make_shared(Device)
        weak = owner.weak()
        locked = weak.lock()
        assert locked is not None
        assert owner.use_count == 2
        locked.release()
        device = owner.get()
        owner.release()
        assert weak.lock() is None
        assert weak.expired()
        assert device.closes == 1  # still in memory, but no longer owned: closed
        assert repr(weak).endswith(" expired>")

    def test_weak_count_and_reset(self) -> None:
        """weak_count counts observers; reset() stops one, once."""
        owner = make_shared(Device)
        first, second = owner.weak(), owner.weak()
        assert first.weak_count == 2
        first.reset()
        first.reset()
        assert (second.weak_count, first.lock()) == (1, None)
        owner.release()

    def test_handles_left_at_exit_close_their_resources_quietly(self, tmp_path: Any) -> None:
        """Handles still held in module globals as the interpreter shuts down close, and print nothing.

        Their ``__del__`` then runs after the library's module globals may
        already be gone (on the free-threaded build they were), so releasing
        must need none of them; the unreleased ones close their resources.
        """
        done = run_script(
            tmp_path / "leftover.py",
            "import threading\n"
            "from osv_idioms.refcount import IntrusivePtr, IntrusiveRefCounted, make_shared\n"
            "class Device:\n"
            "    def close(self) -> None:\n"
            "        print('device closed', flush=True)\n"
            "class File(IntrusiveRefCounted):\n"
            "    def close(self) -> None:\n"
            "        print('file closed', flush=True)\n"
            "owner = make_shared(Device)\n"
            "monitor = owner.weak()\n"
            "kept = owner.clone()\n"
            "ref = IntrusivePtr(File())\n"
            "def use(handle):\n"
            "    with handle:\n"
            "        pass\n"
            "user = threading.Thread(target=use, args=(owner.clone(),))\n"
            "user.start()\n"
            "user.join()\n"
            "owner.release()\n"
            "print('done', flush=True)\n",
        )
        assert (done.returncode, done.stderr) == (0, "")
        lines = done.stdout.splitlines()
        assert lines[0] == "done"
        assert sorted(lines[1:]) == ["device closed", "file closed"]


class TestSharedFromThis:
    def test_shared_from_this(self) -> None:
        """An owned object can make new owners of itself."""

        class App(SharedFromThis):
            pass

        owner = make_shared(App)
        again = owner.get().shared_from_this()
        assert owner.use_count == 2
        locked = owner.get().weak_from_this().lock()
        assert locked is not None
        locked.release()
        again.release()
        owner.release()

    def test_not_owned(self) -> None:
        """On an object no SharedPtr owns, BadWeakPtr explains what to do."""

        class App(SharedFromThis):
            pass

        app = App()
        with pytest.raises(
            BadWeakPtr, match=r"^App object at 0x[0-9a-f]+ is not owned by any SharedPtr: wrap it"
        ):
            app.shared_from_this()
        owner = SharedPtr(app)
        owner.release()
        with pytest.raises(BadWeakPtr, match=r"has no owner left: its last SharedPtr let go$"):
            app.shared_from_this()
        assert isinstance(BadWeakPtr("x"), ReferenceError)


class TestIntrusive:
    def test_count_starts_at_zero_and_last_release_closes(self) -> None:
        """The count lives in the object, starts at 0, and its last release calls close()."""
        f = File()
        assert f.ref_count == 0
        with IntrusivePtr(f) as first:
            second = first.clone()
            assert f.ref_count == 2
        assert (f.ref_count, f.closes) == (1, 0)
        second.release()
        assert (f.ref_count, f.closes) == (0, 1)

    def test_below_zero_is_an_error_and_changes_nothing(self) -> None:
        """Releasing at 0 raises RefCountError; the count stays 0."""
        f = File()
        with pytest.raises(
            RefCountError,
            match=r"^release\(\) on File object at 0x[0-9a-f]+ whose reference count is already 0",
        ):
            f.release()
        assert (f.ref_count, f.closes) == (0, 0)

    def test_on_last_release_override(self) -> None:
        """Subclasses choose what the last release does."""
        freed: list[str] = []

        class Buffer(IntrusiveRefCounted):
            def on_last_release(self) -> None:
                freed.append("buffer")

        IntrusivePtr(Buffer()).release()
        assert freed == ["buffer"]

    def test_ref_if_positive(self) -> None:
        """A reference is taken only while the count is positive."""
        f = File()
        assert ref_if_positive(f) is None
        owner = IntrusivePtr(f)
        extra = ref_if_positive(f)
        assert extra is not None
        assert f.ref_count == 2
        extra.release()
        owner.release()
        assert ref_if_positive(f) is None
        assert f.closes == 1

    def test_handle_errors(self) -> None:
        """A released handle refuses get(); a plain object is refused at construction."""
        handle = IntrusivePtr(File())
        handle.release()
        handle.release()
        with pytest.raises(
            ReleasedHandleError, match=r"^get\(\) on a released IntrusivePtr to File object"
        ):
            handle.get()
        with pytest.raises(
            TypeError, match=r"^IntrusivePtr needs an IntrusiveRefCounted object, got a Device$"
        ):
            IntrusivePtr(Device())  # type: ignore[type-var]
        assert repr(handle).endswith(" released>")


class TestLeaks:
    def test_collected_unreleased_handle_warns_and_releases(self) -> None:
        """A handle lost without release() emits ResourceWarning and still closes the resource."""
        device = Device()

        def lose_a_handle() -> None:
            SharedPtr(device)

        with pytest.warns(
            ResourceWarning,
            match=r"^SharedPtr to Device object at 0x[0-9a-f]+ was garbage-collected without release\(\); it has been released now$",
        ):
            lose_a_handle()
            gc.collect()
        assert device.closes == 1

    def test_leak_warning_carries_the_allocation_site(self) -> None:
        """With tracemalloc on, the warning's source leads to where the handle was made."""
        import tracemalloc
        import warnings

        tracemalloc.start()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                SharedPtr(Device())
                gc.collect()
            (warning,) = caught
            where = tracemalloc.get_object_traceback(warning.source)
        finally:
            tracemalloc.stop()
        assert warning.category is ResourceWarning
        assert where is not None
        assert any(frame.filename == __file__ for frame in where)

    def test_collected_unreleased_intrusive_handle(self) -> None:
        """The same safety net for IntrusivePtr."""
        f = File()
        with pytest.warns(ResourceWarning, match=r"^IntrusivePtr to File object"):
            IntrusivePtr(f)
            gc.collect()
        assert (f.ref_count, f.closes) == (0, 1)

    def test_strict_mode_makes_a_leak_an_error(
        self, strict_off: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """In strict mode the collector reports LeakedHandleError (after releasing)."""
        reported: list[Any] = []
        monkeypatch.setattr(sys, "unraisablehook", reported.append)
        set_strict(True)
        device = Device()
        with pytest.warns(ResourceWarning):
            SharedPtr(device)
            gc.collect()
        assert device.closes == 1
        assert [type(r.exc_value) for r in reported] == [LeakedHandleError]
        assert str(reported[0].exc_value).endswith("was never released")

    def test_with_warnings_as_errors_a_leaked_handle_is_still_closed(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Under ``-W error`` the leak warning raises, after the resource was closed."""
        import warnings

        reported: list[Any] = []
        monkeypatch.setattr(sys, "unraisablehook", reported.append)
        device = Device()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            SharedPtr(device)
            gc.collect()
        assert device.closes == 1
        assert [type(r.exc_value) for r in reported] == [ResourceWarning]

    def test_the_collector_releasing_on_a_held_stripe_neither_hangs_nor_miscounts(
        self, tmp_path: Path
    ) -> None:
        """Leaked handles freed while their thread holds the lock stripe they count under.

        The collector starts at an allocation or after a call, so it can start
        inside ``add_ref()``, ``release()``, ``ref_if_positive()`` or a weak
        handle's count: the handles it frees then release in that same thread,
        on that stripe, and some of the very object being counted. In a fresh
        interpreter, with the threshold swept so that a collection starts at
        each step in turn: no thread waits for itself, and no count is lost.
        """
        done = run_script(tmp_path / "stripes.py", COLLECTOR_ON_A_HELD_STRIPE)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == "wrong counts: [] 0\n"


class TestCopies:
    def test_a_copy_is_a_new_owner(self) -> None:
        """``copy.copy(handle)`` owns as ``clone()`` does: releasing it leaves the original owning."""
        import copy

        original = make_shared(Device)
        device = original.get()
        copied = copy.copy(original)
        assert (copied is not original, original.use_count) == (True, 2)
        copied.release()
        assert (original.get() is device, device.closes) == (True, 0)
        original.release()
        assert device.closes == 1

    def test_a_copy_of_an_intrusive_handle_holds_its_own_reference(self) -> None:
        """``copy.copy`` of an ``IntrusivePtr`` takes a reference of its own."""
        import copy

        f = File()
        original = IntrusivePtr(f)
        copied = copy.copy(original)
        assert f.ref_count == 2
        copied.release()
        original.release()
        assert (f.ref_count, f.closes) == (0, 1)

    @pytest.mark.parametrize("kind", ["shared", "intrusive"])
    def test_deep_copies_and_pickles_are_refused(self, kind: str) -> None:
        """A deep copy or a pickle would own a resource no deleter closes: both are TypeErrors."""
        import copy
        import pickle

        handle: SharedPtr[Any] | IntrusivePtr[File] = (
            make_shared(Device) if kind == "shared" else IntrusivePtr(File())
        )
        name = type(handle).__name__
        with pytest.raises(
            TypeError,
            match=rf"^can't deep-copy a {name}: it owns a resource, and a copy of the resource "
            r"would have no owner to close it; clone\(\) the handle instead$",
        ):
            copy.deepcopy(handle)
        with pytest.raises(
            TypeError,
            match=rf"^can't pickle a {name}: ownership of a resource does not travel to another "
            r"process; pickle the object it holds, if that makes sense$",
        ):
            pickle.dumps(handle)
        handle.release()

    def test_a_copy_of_a_weak_handle_is_a_weak_handle(self) -> None:
        """Copying a ``WeakPtr`` counts one more weak handle, and each resets on its own."""
        import copy
        import pickle

        owner = make_shared(Device)
        weak = owner.weak()
        copied = copy.copy(weak)
        assert weak.weak_count == 2
        copied.reset()
        del copied
        gc.collect()
        assert weak.weak_count == 1
        with pytest.raises(
            TypeError,
            match=r"^can't deep-copy a WeakPtr: copy.copy\(\) it for another weak handle$",
        ):
            copy.deepcopy(weak)
        with pytest.raises(
            TypeError,
            match=r"^can't pickle a WeakPtr: the resource it observes stays in this process$",
        ):
            pickle.dumps(weak)
        owner.release()
