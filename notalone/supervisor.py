"""Run NotAlone's parts as child processes: restart a crashed one with backoff, stop all of them cleanly.

Each part runs in its own process group, so a Ctrl-C in the terminal reaches only the supervisor, which
then stops the parts in order: SIGTERM to the part's main process, a grace period for it to finish its
work (the proxy writes its queued alerts, through its own scoring process), then SIGKILL to the part's
whole process group, so that nothing it started outlives it. Their output is read line by line and logged
as events of the part, so the whole system writes one structured log.

A part that keeps failing at start is given up alone: the others keep running (the dashboard stays up to
say that the filter is not), ``on_failed`` hears why, and the supervisor ends only when no part is left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger("notalone.up")

LAST_LINES = 20  # of each part's output, kept to say why it failed
_LEVEL_WORDS = (
    ("critical", logging.CRITICAL),
    ("error", logging.ERROR),
    ("warn", logging.WARNING),
    ("debug", logging.DEBUG),
)


@dataclass(frozen=True)
class PartSpec:
    """How to run one part: its command, extra environment, and how to tell it is serving.

    ``ready`` gets the wall-clock time the part was (re)started, to tell fresh signs of life from old ones.
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    ready: Callable[[float], bool] = lambda started_at: True


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``first_s``, doubled per quick failure up to ``max_s``.

    A part that ran ``healthy_after_s`` or longer starts again from ``first_s``. After ``give_up_after``
    quick failures in a row (a port taken, a broken install) the part is not started again: retrying for
    ever would only fill the log, and the parent needs the cause instead. A part that has not once become
    ready is given up sooner, after ``give_up_before_ready`` failed starts: what stops a part from starting
    (a missing package, a bad setting) does not go away by itself.
    """

    first_s: float = 1.0
    max_s: float = 60.0
    healthy_after_s: float = 30.0
    give_up_after: int = 5
    give_up_before_ready: int = 2

    def delay(self, quick_failures: int) -> float:
        return min(self.max_s, self.first_s * 2 ** max(0, quick_failures - 1))


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    interval_s: float
    run: Callable[[], None]


@dataclass
class _Running:
    spec: PartSpec
    process: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = None
    started_at: float = 0.0
    started_wall: float = 0.0
    ready: bool = False
    ever_ready: bool = False
    quick_failures: int = 0
    restart_at: float | None = None
    restarts: int = 0
    failed: bool = False
    last_lines: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_LINES))


class Supervisor:
    """Start every part, keep them running, stop them on SIGINT/SIGTERM. ``run()`` returns an exit code."""

    def __init__(
        self,
        parts: Sequence[PartSpec],
        *,
        backoff: Backoff | None = None,
        stop_timeout_s: float = 30.0,
        tasks: Sequence[PeriodicTask] = (),
        on_ready: Callable[[], None] | None = None,
        on_failed: Callable[[str, Sequence[str]], None] | None = None,
        on_part_ready: Callable[[str], None] | None = None,
        poll_s: float = 0.25,
    ) -> None:
        self._parts = [_Running(spec) for spec in parts]
        self._backoff = backoff or Backoff()
        self._stop_timeout_s = stop_timeout_s
        self._tasks = list(tasks)
        self._next_task_at = {task.name: 0.0 for task in self._tasks}
        self._on_ready = on_ready
        self._on_failed = on_failed
        self._on_part_ready = on_part_ready
        self._announced = False
        self._poll_s = poll_s
        self._stopping = False  # set by a signal or request_stop(); read by the loop every poll_s
        self._forced = False
        self._signals: list[int] = []

    # -- signals ------------------------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """SIGTERM, however often it comes, asks for the clean stop; only a Ctrl-C (SIGINT) that comes while
        a stop is already under way means "do not wait".

        Stopping ``make run`` by its process group delivers SIGTERM twice (once from the kill, once more
        from make, which passes SIGTERM on to its children), and systemd sends SIGKILL itself when its
        patience ends; neither must cost the alerts the proxy still has queued. make does not pass SIGINT
        on, so one Ctrl-C in the terminal is one SIGINT here.

        Only assignments and system calls here, no locks and no logging: the handler runs in the main
        thread between two of its bytecodes, possibly while that thread holds a lock (an Event's, a log
        handler's, a stream's), and taking it again would deadlock or fail.
        """
        if signum == signal.SIGINT and self._stopping and not self._forced:
            self._forced = True
            for part in self._parts:
                if part.process is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(part.process.pid, signal.SIGKILL)
        self._signals.append(signum)
        self._stopping = True

    def request_stop(self) -> None:
        self._stopping = True

    # -- the loop -----------------------------------------------------------------------------------------
    def run(self) -> int:
        exit_code = 0
        try:
            for part in self._parts:
                self._start(part)
            while not self._stopping:
                time.sleep(self._poll_s)
                if self._stopping:
                    break
                if not self._check_parts():
                    log.critical("no part is left running, stopping")
                    exit_code = 1
                    break
                self._run_due_tasks()
        finally:
            self._stop_all()
        return exit_code

    def _check_parts(self) -> bool:
        """Notice readiness, exits and due restarts; False when every part has failed."""
        now = time.monotonic()
        for part in self._parts:
            process = part.process
            if part.failed:
                continue
            if process is None:
                if part.restart_at is not None and now >= part.restart_at:
                    self._start(part)
                continue
            code = process.poll()
            if code is None:
                if not part.ready and part.spec.ready(part.started_wall):
                    part.ready = part.ever_ready = True
                    log.info(
                        "part ready",
                        extra={
                            "part": part.spec.name,
                            "pid": process.pid,
                            "seconds": round(now - part.started_at, 1),
                        },
                    )
                    if self._on_part_ready is not None:
                        self._on_part_ready(part.spec.name)
                continue
            _kill_group(process)  # anything it started dies with it
            ran_s = now - part.started_at
            part.process = None
            part.ready = False
            part.quick_failures = part.quick_failures + 1 if ran_s < self._backoff.healthy_after_s else 1
            limit = self._backoff.give_up_after if part.ever_ready else self._backoff.give_up_before_ready
            if part.quick_failures >= limit:
                self._give_up(part, code)
                continue
            delay = self._backoff.delay(part.quick_failures)
            part.restart_at = now + delay
            log.error(
                "part exited, restarting",
                extra={
                    "part": part.spec.name,
                    "exit_code": code,
                    "ran_s": round(ran_s, 1),
                    "restart_in_s": delay,
                    "restarts": part.restarts + 1,
                },
            )
        alive = [p for p in self._parts if not p.failed]
        if not self._announced and alive and all(p.ready for p in alive):
            self._announced = True
            if self._on_ready is not None:
                self._on_ready()
        return bool(alive)

    def _give_up(self, part: _Running, code: int) -> None:
        """Stop restarting ``part``; the others keep running. ``on_failed`` gets its last output lines."""
        part.failed = True
        if part.reader is not None:
            part.reader.join(5)  # its last lines, which usually say why
        log.critical(
            "part keeps failing, not starting it again",
            extra={
                "part": part.spec.name,
                "exit_code": code,
                "failures": part.quick_failures,
                "last_line": part.last_lines[-1] if part.last_lines else "",
            },
        )
        if self._on_failed is not None:
            try:
                self._on_failed(part.spec.name, list(part.last_lines))
            except Exception:  # reporting the failure must not stop the parts still serving
                log.exception("could not report a failed part", extra={"part": part.spec.name})

    def failed_parts(self) -> list[str]:
        return [p.spec.name for p in self._parts if p.failed]

    def _run_due_tasks(self) -> None:
        now = time.monotonic()
        for task in self._tasks:
            if now >= self._next_task_at[task.name]:
                self._next_task_at[task.name] = now + task.interval_s
                try:
                    task.run()
                except Exception:  # a failed housekeeping task must not stop the proxy; it runs again later
                    log.exception("task failed", extra={"task": task.name})

    # -- one part -----------------------------------------------------------------------------------------
    def _start(self, part: _Running) -> None:
        spec = part.spec
        if part.started_at:
            part.restarts += 1
        part.restart_at = None
        part.started_at = time.monotonic()
        part.started_wall = time.time()
        process = subprocess.Popen(
            list(spec.argv),
            env={**os.environ, **spec.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,  # Ctrl-C in the terminal goes to us; we stop the parts in order
        )
        part.process = process
        part.last_lines.clear()
        part.reader = threading.Thread(
            target=_forward_output,
            args=(spec.name, process, part.last_lines),
            name=f"{spec.name}-output",
            daemon=True,
        )
        part.reader.start()
        log.info("part started", extra={"part": spec.name, "pid": process.pid, "restarts": part.restarts})

    def _stop_all(self) -> None:
        if self._signals:
            log.info("stop requested", extra={"signals": [signal.Signals(n).name for n in self._signals]})
        running = [p for p in self._parts if p.process is not None and p.process.poll() is None]
        for part in running:
            assert part.process is not None
            log.info("stopping part", extra={"part": part.spec.name, "pid": part.process.pid})
            # The main process only: the proxy drains its queue through its scoring process, which a
            # SIGTERM to the whole group would end first.
            part.process.terminate()
        deadline = time.monotonic() + self._stop_timeout_s
        for part in running:
            assert part.process is not None
            try:
                code = part.process.wait(max(0.0, deadline - time.monotonic()))
                log.info("part stopped", extra={"part": part.spec.name, "exit_code": code})
            except subprocess.TimeoutExpired:
                log.error(
                    "part did not stop in time, killing it",
                    extra={"part": part.spec.name, "timeout_s": self._stop_timeout_s},
                )
                _kill_group(part.process)
                part.process.wait()
        if self._forced:
            log.warning("second Ctrl-C: the parts were killed without waiting for them")
        for part in self._parts:
            if part.process is not None:
                _kill_group(part.process)  # whatever the part started and left behind
            if part.reader is not None:
                part.reader.join(5)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the part's process group (its pid: each part is started as a group leader)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already gone
        os.killpg(process.pid, signal.SIGKILL)


def _forward_output(name: str, process: subprocess.Popen[bytes], last_lines: deque[str]) -> None:
    """Log each line the part prints as an event of that part, at the level the line itself mentions."""
    logger = logging.getLogger(f"notalone.{name}")
    assert process.stdout is not None
    for raw in process.stdout:
        line = raw.decode("utf-8", errors="replace").rstrip()
        if not line:
            continue
        last_lines.append(line)
        head = line[:40].lower()
        level = next((lvl for word, lvl in _LEVEL_WORDS if word in head), logging.INFO)
        logger.log(level, line)
