"""One boundary for untrusted input, and a child process to cross it in.

Whatever reading, mapping, checking or storing a file raises leaves `guarded` as a typed `LogError` naming
the file and the step: a `LogError` passes unchanged, running out of memory becomes `LimitExceeded`, and
anything else (a bug, or a library tripping over a corner of a format) becomes `UnexpectedFailure`, whose
traceback is logged under a short reference that the user can quote.

`run_isolated` runs such a step in a child process, so that no file can take the server down: a file that
would exhaust memory, spin the CPU or crash a native library (DuckDB, Arrow, lxml) ends that child only. The
child is forked from a fork server that imported Parcours once, so it starts in milliseconds and inherits no
thread of the (multithreaded) Streamlit server. Its resident memory is watched from the parent and its
address space and CPU time are capped (`Settings.worker_memory_mb`, `worker_cpu_seconds`); past a limit it
is stopped and the caller gets a `LimitExceeded` saying which one.
"""

from __future__ import annotations

import importlib.machinery
import logging
import multiprocessing
import multiprocessing.connection
import resource
import signal
import sys
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb

from data.errors import LimitExceeded, LogError, Problem, UnexpectedFailure
from data.settings import Settings

__all__ = [
    "STEPS",
    "ChildRun",
    "guarded",
    "measure_isolated",
    "previews_wanted",
    "report_preview",
    "report_progress",
    "run_isolated",
]

STEPS = ("reading", "mapping", "checking", "storing", "importing")
"""What a boundary names: reading the file, mapping its columns, checking its events, storing the dataset, or all."""

logger = logging.getLogger("parcours.data")

KB_PER_MB = 1024
# How often the parent looks at the child's memory: at a few GB per second of growth, a look every 50 ms
# stops a runaway child within a few hundred MB of its limit.
POLL_SECONDS = 0.05
# Thread stacks and allocator arenas reserve address space they never touch (1.3 GB measured while reading a
# small CSV with Arrow and DuckDB loaded): the address-space cap leaves room for them above the memory limit.
ADDRESS_SPACE_RESERVE_MB = 2048
# The child may also not outlive this many times its CPU seconds in wall-clock time (a wait that burns no CPU).
WALL_CLOCK_FACTOR = 2

_CONTEXT = multiprocessing.get_context("forkserver")
_PRELOAD_LOCK = threading.Lock()
_preloading: list[str] = []
# In a child: the pipe its answer goes back through, which also carries what it is doing meanwhile, and whether
# the parent wants to see previews.
_answer_pipe: multiprocessing.connection.Connection | None = None
_previews_wanted = False


@dataclass(frozen=True)
class ChildRun:
    """What a step run in a child gave back, and what it cost.

    `start_mb` and `peak_mb` are the child's resident memory when the step began and at its highest (for a
    stopped child, the highest the parent saw); `seconds` is wall-clock time, the child's start included.
    """

    value: Any
    error: LogError | None
    start_mb: float
    peak_mb: float
    seconds: float

    def result(self) -> Any:
        """Return the step's value, or raise the typed error it ended with."""
        if self.error is not None:
            raise self.error
        return self.value


@dataclass(frozen=True)
class _Progress:
    """What a child is doing, sent before its answer."""

    text: str


def report_progress(text: str) -> None:
    """Say what a long step is doing now ("Sorting the events by journey…"): in a child process, whoever waits for it
    hears it (`run_isolated`'s `on_progress`); elsewhere nobody is waiting, and nothing happens."""
    if _answer_pipe is not None:
        _answer_pipe.send(_Progress(text))


@dataclass(frozen=True)
class _Preview:
    """Something to show while a child goes on: the import's first look at the journey map, say."""

    value: Any


def previews_wanted() -> bool:
    """Whether the parent waiting for this child shows previews (`run_isolated`'s `on_preview`): a preview that costs
    time is made only then."""
    return _previews_wanted


def report_preview(value: Any) -> None:
    """Hand `value` (picklable) to the parent's `on_preview` while the step goes on; nothing when none is wanted."""
    if _answer_pipe is not None and _previews_wanted:
        _answer_pipe.send(_Preview(value))


@contextmanager
def guarded(step: str, file: str | None) -> Iterator[None]:
    """Let a `LogError` through, and turn any other exception into one naming the file and the step.

    with guarded("reading", "journeys.csv"):
        ...
    """
    if step not in STEPS:
        raise ValueError(f"step must be one of {STEPS}, not {step!r}")
    try:
        yield
    except LogError:
        raise
    except Exception as error:
        raise _typed(error, step, file) from error


def run_isolated(
    call: Callable[[], Any],
    *,
    step: str,
    file: str | None,
    settings: Settings,
    on_progress: Callable[[str], None] | None = None,
    on_preview: Callable[[Any], None] | None = None,
) -> Any:
    """Return what `call()` returns when run in a child process under the operator's limits, or raise a LogError.

    `call` must be picklable: a module-level function, or a `functools.partial` of one. `on_progress` is called, in
    this process, with each text the child passes to `report_progress`, and `on_preview` with each value it passes to
    `report_preview` (the child makes none when it is not given).

        raw = run_isolated(partial(read_log, data, name="log.csv", settings=s), step="reading",
                           file="log.csv", settings=s)
    """
    listened = measure_isolated(
        call, step=step, file=file, settings=settings, on_progress=on_progress, on_preview=on_preview
    )
    return listened.result()


def measure_isolated(
    call: Callable[[], Any],
    *,
    step: str,
    file: str | None,
    settings: Settings,
    on_progress: Callable[[str], None] | None = None,
    on_preview: Callable[[Any], None] | None = None,
) -> ChildRun:
    """Run `call()` like `run_isolated`, returning its value or typed error with the child's memory and time."""
    if step not in STEPS:
        raise ValueError(f"step must be one of {STEPS}, not {step!r}")
    _set_preload()
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(
        target=_run_child,
        args=(sender, call, step, file, settings.worker_memory_mb, settings.worker_cpu_seconds, on_preview is not None),
        name=f"parcours-{step}",
        daemon=True,
    )
    started = time.monotonic()
    _main_not_run_again()
    child.start()
    sender.close()
    try:
        return _watch(child, receiver, step, file, settings, started, (on_progress, on_preview))
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()


def _main_not_run_again() -> None:
    """Keep a child from running the parent's main script again before its step.

    Python runs a `__main__` that has a file but no spec again in every child. Under `streamlit run` that is the
    page being run: the child would draw the whole page again, in bare mode, as nobody — and a page that stops
    for want of a signed-in user (a team's dashboard) would take the child down with it. A spec named `__main__`
    tells multiprocessing there is nothing to run; every step is a function of Parcours' own modules.
    """
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None:
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)


def _set_preload() -> None:
    """Have the fork server import Parcours and what the parent's main script imported, before it starts.

    With those imports already made in the server, a child costs nothing to start, where importing them
    (Streamlit's CLI, say) would cost it half a second.
    """
    with _PRELOAD_LOCK:
        if not _preloading:
            main = sys.modules.get("__main__")
            found = {_module_of(value) for value in (vars(main).values() if main is not None else ())}
            imported = sorted(name for name in found - {None, "__main__", "builtins"} if name in sys.modules)
            _preloading.extend(["data", *imported])
            _CONTEXT.set_forkserver_preload(_preloading)


def _module_of(value: object) -> str | None:
    name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return name if isinstance(name, str) else None


def _watch(
    child: multiprocessing.process.BaseProcess,
    receiver: multiprocessing.connection.Connection,
    step: str,
    file: str | None,
    settings: Settings,
    started: float,
    listeners: tuple[Callable[[str], None] | None, Callable[[Any], None] | None],
) -> ChildRun:
    """Wait for the child's answer while watching its memory and time (stop it past either limit), passing on what it
    says it is doing and its previews (`listeners`: `on_progress` and `on_preview`)."""
    on_progress, on_preview = listeners
    deadline = started + WALL_CLOCK_FACTOR * settings.worker_cpu_seconds
    limit_kb = settings.worker_memory_mb * KB_PER_MB
    start_kb = peak_kb = _status_kb(child.pid, "VmRSS") or 0
    message: object = _Progress("")
    while isinstance(message, _Progress | _Preview):
        while not receiver.poll(POLL_SECONDS):
            if not child.is_alive():
                break  # the pipe tells why below
            resident_kb = _status_kb(child.pid, "VmRSS") or 0
            peak_kb = max(peak_kb, resident_kb)
            stopped_for = _memory_problem if resident_kb > limit_kb else None
            if time.monotonic() > deadline:
                stopped_for = _time_problem
            if stopped_for is not None:
                child.kill()
                error = LimitExceeded(stopped_for(step, file, settings))
                return ChildRun(None, error, start_kb / KB_PER_MB, peak_kb / KB_PER_MB, time.monotonic() - started)
        try:
            message = receiver.recv()
        except EOFError:
            child.join()
            error = _ended(child.exitcode, step, file, settings)
            return ChildRun(None, error, start_kb / KB_PER_MB, peak_kb / KB_PER_MB, time.monotonic() - started)
        if isinstance(message, _Progress) and on_progress is not None:
            on_progress(message.text)
        elif isinstance(message, _Preview) and on_preview is not None:
            on_preview(message.value)
    (succeeded, value), start_kb, child_peak_kb = message
    peak_mb = max(peak_kb, child_peak_kb, start_kb) / KB_PER_MB
    seconds = time.monotonic() - started
    if succeeded:
        return ChildRun(value, None, start_kb / KB_PER_MB, peak_mb, seconds)
    return ChildRun(None, value, start_kb / KB_PER_MB, peak_mb, seconds)


def _run_child(
    sender: multiprocessing.connection.Connection,
    call: Callable[[], Any],
    step: str,
    file: str | None,
    memory_mb: int,
    cpu_seconds: int,
    previews: bool,
) -> None:
    start_kb = _status_kb("self", "VmRSS") or 0
    address_space = ((_status_kb("self", "VmSize") or 0) // KB_PER_MB + memory_mb + ADDRESS_SPACE_RESERVE_MB) << 20
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    global _answer_pipe, _previews_wanted
    _answer_pipe, _previews_wanted = sender, previews
    try:
        with guarded(step, file):
            outcome = (True, call())
    except LogError as error:
        outcome = (False, error)
    peak_kb = _status_kb("self", "VmHWM") or 0
    try:
        sender.send((outcome, start_kb, peak_kb))
    except Exception as error:  # a value too large to pickle within the limits, or one that cannot be pickled
        sender.send(((False, _typed(error, step, file)), start_kb, peak_kb))
    sender.close()


def _typed(error: Exception, step: str, file: str | None) -> LogError:
    if isinstance(error, MemoryError | duckdb.OutOfMemoryException):
        # DuckDB spills to disk, so it runs out only below what its window and sorts need: the import's limit, then.
        setting = (
            "PARCOURS_IMPORT_MEMORY_MB"
            if isinstance(error, duckdb.OutOfMemoryException)
            else "PARCOURS_WORKER_MEMORY_MB"
        )
        return LimitExceeded(
            Problem(
                f"Parcours ran out of memory while {step} the file.",
                fix=f"Import a smaller extract, or ask the operator to raise {setting}.",
                file=file,
            )
        )
    return _unexpected(type(error).__name__, step, file, error)


def _unexpected(brief: str, step: str, file: str | None, error: BaseException | None) -> UnexpectedFailure:
    """Log what happened (with the traceback of `error`) under a new reference, and return the error showing it."""
    reference = uuid.uuid4().hex[:8]
    logger.error("Unexpected error while %s %r (reference %s): %s", step, file, reference, brief, exc_info=error)
    return UnexpectedFailure(
        Problem(
            f"Parcours failed while {step} the file, on something it does not recognise "
            f"({brief}; reference {reference}).",
            fix="Check the file's format, or report the reference to the operator, who finds the details in the "
            "server log.",
            file=file,
        ),
        reference=reference,
    )


def _memory_problem(step: str, file: str | None, settings: Settings) -> Problem:
    return Problem(
        f"{step.capitalize()} the file needed more than the {settings.worker_memory_mb:,} MB of memory this "
        "installation allows, so it was stopped.",
        fix="Import a smaller extract (a period, or a sample of customers), or ask the operator to raise "
        "PARCOURS_WORKER_MEMORY_MB.",
        file=file,
    )


def _time_problem(step: str, file: str | None, settings: Settings) -> Problem:
    return Problem(
        f"{step.capitalize()} the file took longer than this installation allows "
        f"({settings.worker_cpu_seconds:,} CPU seconds, {WALL_CLOCK_FACTOR * settings.worker_cpu_seconds:,} "
        "seconds in all), so it was stopped.",
        fix="Import a smaller extract, or ask the operator to raise PARCOURS_WORKER_CPU_SECONDS.",
        file=file,
    )


def _ended(exitcode: int | None, step: str, file: str | None, settings: Settings) -> LogError:
    """The typed error for a child that ended without an answer, from how it ended."""
    if exitcode == -signal.SIGXCPU:
        return LimitExceeded(_time_problem(step, file, settings))
    if exitcode == -signal.SIGKILL:
        # The CPU cap's hard limit (a second after SIGXCPU) and the kernel's out-of-memory killer both kill.
        return LimitExceeded(_killed(step, file))
    how = f"signal {signal.Signals(-exitcode).name}" if exitcode and exitcode < 0 else f"exit status {exitcode}"
    return _unexpected(f"the process {step} the file crashed ({how})", step, file, None)


def _killed(step: str, file: str | None) -> Problem:
    return Problem(
        f"{step.capitalize()} the file was stopped by the system, which kills a process that uses too much memory "
        "or CPU time.",
        fix="Import a smaller extract, or ask the operator about the server's limits.",
        file=file,
    )


def _status_kb(pid: int | str | None, field: str) -> int | None:
    """Return a memory figure of /proc/<pid>/status in kB (VmRSS, VmSize), None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None
