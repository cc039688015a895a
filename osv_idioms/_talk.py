"""The slides of "Lessons learned from OSv" (Kivity, Costa), in talk order.

The tour and the slide map both read this table, so the order and titles live
in one place. Code slides carry the C++ as it appears on the slide; the other
slides carry two or three lines on what Python has to say about them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ("SLIDES", "Slide")


@dataclass(frozen=True, slots=True)
class Slide:
    """One slide: its number in the talk, title, C++ (if any) and a Python remark."""

    number: int
    title: str
    cpp: str = ""
    remark: str = ""


_SCOPED_LOCKING_CPP = """\
int before(struct something *p)
{
    int r;

    r = -ENOENT;
    if (!p)
        goto out2;
    mutex_lock(&p->lock);
    r = -EINVAL;
    if (!p->y)
        goto out1;
    mutex_lock(&p->y->lock);
    r = ++p->y->n;
    mutex_unlock(&p->y->lock);
out1:
    mutex_unlock(&p->lock);
out2:
    return r;
}

int after(something* p)
{
    if (!p)
        return -ENOENT;
    WITH_LOCK(p->lock) {
        if (!p->y)
            return -EINVAL;
        WITH_LOCK(p->y->lock)
            return ++p->y->n;
    }
}"""

_TRACING_CPP = """\
TRACEPOINT(trace_mutex_lock, "%p", mutex *);
TRACEPOINT(trace_mutex_lock_wait, "%p", mutex *);

// ...

void mutex::lock()
{
    trace_mutex_lock(this);

[/]$ perf stat mutex_lock mutex_lock_wait sched_switch
 mutex_lock  mutex_lock_wait  sched_switch
      11           0           2
     885           0          181
     154           0          152"""

_RCU_CPP = """\
rcu_ptr<vector<device>> device_list;
// update:
device_list.assign(new_device_list);
// read:
auto list = device_list.read();"""

_CALLBACKS_CPP = """\
function<void (int level)> irq_handler;
function<u64 (hw_addr addr, unsigned size)>
    read_callback;

irq_handler = my_irq_handler;
read_callback = bind(this, &my_device::read);"""

_SIGNALS_CPP = """\
signal <void ()> system_reset;
...
system_reset.connect([&] { reset_bar0(); });
...
system_reset();"""

_CONTAINERS_CPP = """\
vector<foo>                 - growable array
unordered_map<key, value>   - growable hash table
list<bar>                   - doubly linked list
set<whatever>               - sorted balanced tree"""

_REFCOUNT_CPP = """\
shared_ptr<device>    - fully automatic reference counting
intrusive_ptr<device> - full manual control"""

_TWO_LANGUAGES = (
    "Python's macro language is its decorators, context managers, descriptors\n"
    "and generics: they write the boilerplate (unlock on every exit, count a\n"
    "call, check a signature) so the code that remains says what it means."
)

SLIDES: tuple[Slide, ...] = tuple(
    Slide(number, title, cpp, remark)
    for number, (title, cpp, remark) in enumerate(
        (
            (
                "Lessons learned from OSv",
                "",
                "Avi Kivity and Glauber Costa on building a cloud OS kernel in C++,\n"
                "and the idioms that made it safe and fast. Each one has a Python module here.",
            ),
            ("Agenda", "", "Introduction to OSv, why C++ for systems, examples, QEMU."),
            (
                "The OSv team",
                "",
                "KVM, Xen, JVM and slab veterans: the idioms come from kernel practice.",
            ),
            (
                "Typical Cloud Stack",
                "",
                "App, application server, JVM, OS, hypervisor, hardware: a Python service\n"
                "adds an interpreter layer of its own to that stack.",
            ),
            (
                "A Historical Anomaly",
                "",
                "Three layers each provide protection and abstraction; a pure-Python\n"
                "library can at least avoid adding a fourth lock where one will do.",
            ),
            (
                "Too Many Layers, Too Little Value",
                "",
                "Duplicated isolation, memory management and I/O stacks: the cost\n"
                "is paid in every layer, which is why the modules here measure theirs.",
            ),
            ("less is more.", "", "Fewer layers, fewer copies, fewer locks on the hot path."),
            ("The new Cloud Stack - OSv", "", "The application runs directly on a thin kernel."),
            (
                "The new Cloud Stack - OSv: memory, I/O, scheduling, tuning",
                "",
                "Huge pages, zero copy, lock-free scheduling: in Python the equivalent\n"
                "discipline is readers that never lock and snapshots swapped in one store.",
            ),
            (
                "Van Jacobson == TCP/IP: the common kernel network stack",
                "",
                "A shared stack with locks everywhere leads to a servo-loop of contention.",
            ),
            (
                "Van Jacobson == TCP/IP: net channel design",
                "",
                "Push work to the consumer through a single-producer channel; in Python\n"
                "a queue per consumer, or a snapshot the reader owns, plays that role.",
            ),
            (
                "Dynamic heap, sharing is good",
                "",
                "One address space means sharing costs a pointer, not a copy; Python\n"
                "objects are shared the same way, so ownership must be explicit.",
            ),
            ("Architecture ports", "", "x86-64 on KVM and Xen, ARM planned."),
            ("Management", "", "A web console to upload and start applications."),
            (
                "Status",
                "",
                "Java, C and JVM languages run; faster than Linux on several benchmarks.",
            ),
            ("Milestones", "", "The road from first boot to public release."),
            (
                "Two languages called C++ (1)",
                "",
                "The enterprise language of synergies and paradigm shifts: not this one.",
            ),
            ("Two languages called C++ (2)", "", "A macro language for generating C."),
            ("Two languages called C++ (2): reduce boilerplate", "", _TWO_LANGUAGES),
            ("Scoped locking", _SCOPED_LOCKING_CPP, ""),
            ("Performance and tracing", _TRACING_CPP, ""),
            (
                "Atomic allocation & initialization",
                "",
                "Allocate and initialise in one step: Python constructors, dataclasses\n"
                "and make_shared(factory, ...) never expose a half-built object.",
            ),
            ("Containers", _CONTAINERS_CPP, ""),
            ("templates - enforcing concepts at compile time", _RCU_CPP, ""),
            ("Reference counted objects", _REFCOUNT_CPP, ""),
            ("Generic callbacks", _CALLBACKS_CPP, ""),
            (
                "Generic callbacks (again)",
                _CALLBACKS_CPP,
                "The talk shows this slide twice. The example at slide 26 covers both\n"
                "lines: Function[[int], None] for irq_handler, and bind_weak(device.read)\n"
                "for read_callback, which does not keep the device alive.",
            ),
            ("Signals and slots", _SIGNALS_CPP, ""),
            (
                "Conclusions",
                "",
                "Boilerplate and silly mistakes reduced, frameworks easy and fast to\n"
                "build: the same holds for Python's own macro language.",
            ),
            ("Resources", "", "http://osv.io and https://github.com/cloudius-systems/osv"),
        ),
        start=1,
    )
)
