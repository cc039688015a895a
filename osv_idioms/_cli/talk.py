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
     154           0          152
     154           0          154
     404           0          190
     222           0          157
     150           0          152"""

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
            (
                "Agenda",
                "",
                "Introduction to OSv, why C++ for systems programming, examples, QEMU.\n"
                "The tour follows it: the examples are slides 20 to 28, each one running\n"
                "the Python module that plays the C++ idiom's part.",
            ),
            (
                "The OSv team",
                "",
                "KVM, Xen, JVM and slab veterans: the idioms come from kernel practice,\n"
                "where a lock held too long or a callback of the wrong shape is a crash,\n"
                "not a slow test.",
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
            (
                "less is more.",
                "",
                "Fewer layers, fewer copies, fewer locks on the hot path. In Python each\n"
                "layer is a function call of tens of nanoseconds, so the modules here\n"
                "count theirs: a disabled tracepoint is one empty call, not two.",
            ),
            (
                "The new Cloud Stack - OSv",
                "",
                "The application runs directly on a thin kernel: one address space, one\n"
                "protection boundary. A Python process is that shape already; what it\n"
                "lacks are the kernel's disciplines for sharing inside it.",
            ),
            (
                "The new Cloud Stack - OSv: memory, I/O, scheduling, tuning, CPU",
                "",
                "Huge pages, zero copy, lock-free scheduling, cheap context switches: in\n"
                "Python the equivalent discipline is readers that never lock, snapshots\n"
                "swapped in one store, and no lock held while a slot or probe runs.",
            ),
            (
                "Van Jacobson == TCP/IP: the common kernel network stack",
                "",
                "A shared stack with locks everywhere leads to a servo-loop of contention.\n"
                "Python's GIL is that loop at interpreter scale; lock-order checking and\n"
                "perf stat's mutex_lock_wait count show where a program's own locks join in.",
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
            (
                "Architecture ports",
                "",
                "64-bit x86 on KVM and Xen, VMware and 64-bit ARM planned. This library\n"
                "is pure Python, tested on CPython 3.11 to 3.15 and the free-threaded build.",
            ),
            (
                "Management",
                "",
                "A web console to upload and start applications. The Python counterpart\n"
                "here is a command line: python -m osv_idioms perf list | stat | record.",
            ),
            (
                "Status",
                "",
                "Java, C and JVM languages run; faster than Linux on several benchmarks.\n"
                "Claims of speed here are benchmarks too: docs/benchmarks.md gives every\n"
                "ratio against the library a Python programmer would otherwise pick.",
            ),
            (
                "Milestones",
                "",
                "The road from first boot to public release. This library's road is its\n"
                "CHANGELOG, one idiom per module, each landed with tests and a benchmark.",
            ),
            (
                "Two languages called C++ (1)",
                "",
                "The enterprise language of synergies and paradigm shifts: not this one.\n"
                "Python has that dialect too (frameworks of frameworks); the modules here\n"
                "stay small, one idiom each.",
            ),
            (
                "Two languages called C++ (2)",
                "",
                "A macro language for generating C: templates and RAII write the code a\n"
                "C programmer would write by hand. The next slide says what Python's\n"
                "macro language is.",
            ),
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
            (
                "Resources",
                "",
                "http://osv.io and https://github.com/cloudius-systems/osv\n"
                "This library's map of the talk is docs/slides.md; its API, docs/api.md.",
            ),
        ),
        start=1,
    )
)
