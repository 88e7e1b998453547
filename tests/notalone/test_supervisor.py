"""The supervisor with tiny real child processes: restart with backoff, give up, stop cleanly or by force."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from notalone.supervisor import Backoff, PartSpec, PeriodicTask, Supervisor

FAST = Backoff(first_s=0.05, max_s=0.2, healthy_after_s=60.0, give_up_after=3, give_up_before_ready=3)
# A part that says it started, and on SIGTERM writes down that it finished its work before exiting.
GRACEFUL = """
import pathlib, signal, sys, time
here = pathlib.Path(sys.argv[1])
def stop(*_):
    (here / "flushed").write_text("yes")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
(here / "started").write_text("yes")
while True:
    time.sleep(0.1)
"""
STUBBORN = """
import pathlib, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path(sys.argv[1], "started").write_text("yes")
while True:
    time.sleep(0.1)
"""


def poll(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Wait until ``condition()`` is truthy; fail naming ``what`` after ``timeout`` s (a deadline only)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not met within {timeout:.0f}s"
        time.sleep(0.05)


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def run_in_thread(supervisor: Supervisor) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(supervisor.run()), daemon=True)
    thread.start()
    return thread, result


def run_until_ready(
    name: str, script: list[str], ready_file: Path, **options: float
) -> tuple[Supervisor, threading.Thread, list[int]]:
    """A supervisor of one part, run in a thread and returned once the part has written ``ready_file``."""
    announced = threading.Event()
    supervisor = Supervisor(
        [PartSpec(name, script, ready=lambda _since: ready_file.exists())],
        on_ready=announced.set,
        poll_s=0.02,
        **options,
    )
    thread, result = run_in_thread(supervisor)
    assert announced.wait(60), "the part never became ready"
    return supervisor, thread, result


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first_s=1, max_s=10)
    assert [backoff.delay(n) for n in range(1, 6)] == [1, 2, 4, 8, 10]


def test_a_part_that_keeps_crashing_is_restarted_then_given_up(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="notalone")
    supervisor = Supervisor(
        [PartSpec("crashy", python("import sys; sys.exit(3)"))], backoff=FAST, poll_s=0.02
    )
    assert supervisor.run() == 1
    restarts = [r for r in caplog.records if r.getMessage() == "part exited, restarting"]
    assert [(r.part, r.exit_code) for r in restarts] == [("crashy", 3), ("crashy", 3)]
    assert any(r.getMessage() == "part keeps failing, not starting it again" for r in caplog.records)


def test_a_part_that_never_started_is_tried_once_more_then_given_up(caplog: pytest.LogCaptureFixture) -> None:
    """A broken install or a bad setting does not mend itself: no loop of restarts and tracebacks."""
    caplog.set_level(logging.INFO, logger="notalone")
    backoff = Backoff(first_s=0.05, max_s=0.2, healthy_after_s=60.0)
    broken = PartSpec("broken", python("import sys; sys.exit(3)"), ready=lambda _since: False)
    supervisor = Supervisor([broken], backoff=backoff, poll_s=0.02)
    assert supervisor.run() == 1
    assert len([r for r in caplog.records if r.getMessage() == "part started"]) == 2


def test_a_failing_part_is_given_up_alone_and_reported_while_the_others_keep_serving(tmp_path: Path) -> None:
    failed: list[tuple[str, list[str]]] = []
    reported = threading.Event()

    def on_failed(name: str, lines: list[str]) -> None:
        failed.append((name, list(lines)))
        reported.set()

    supervisor = Supervisor(
        [
            PartSpec("graceful", python(GRACEFUL, str(tmp_path))),
            PartSpec(
                "broken",
                python("import sys; print('ModuleNotFoundError: no zstandard', flush=True); sys.exit(1)"),
            ),
        ],
        backoff=FAST,
        poll_s=0.02,
        on_failed=on_failed,
    )
    thread, result = run_in_thread(supervisor)
    assert reported.wait(60), "the broken part was never given up"
    assert failed == [("broken", ["ModuleNotFoundError: no zstandard"])]
    assert thread.is_alive(), "the supervisor kept running for the part still serving"
    assert supervisor.failed_parts() == ["broken"]
    supervisor.request_stop()
    thread.join(90)
    assert result == [0]
    assert (tmp_path / "flushed").read_text() == "yes"


def test_stop_sends_sigterm_and_waits_for_the_part_to_finish(tmp_path: Path) -> None:
    supervisor, thread, result = run_until_ready(
        "graceful", python(GRACEFUL, str(tmp_path)), tmp_path / "started", stop_timeout_s=60
    )
    supervisor.request_stop()
    thread.join(90)
    assert result == [0]
    assert (tmp_path / "flushed").read_text() == "yes"


def test_a_part_ignoring_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notalone")
    supervisor, thread, result = run_until_ready(
        "stubborn", python(STUBBORN, str(tmp_path)), tmp_path / "started", stop_timeout_s=0.5
    )
    supervisor.request_stop()
    thread.join(90)
    assert result == [0]
    assert any(r.getMessage() == "part did not stop in time, killing it" for r in caplog.records)


def test_periodic_tasks_run_and_a_failing_one_does_not_stop_the_parts(tmp_path: Path) -> None:
    ran: list[str] = []
    both_ran = threading.Event()

    def failing() -> None:
        ran.append("failing")
        both_ran.set()
        raise RuntimeError("database locked")

    supervisor = Supervisor(
        [PartSpec("graceful", python(GRACEFUL, str(tmp_path)))],
        tasks=[PeriodicTask("ok", 3600, lambda: ran.append("ok")), PeriodicTask("failing", 3600, failing)],
        poll_s=0.02,
    )
    thread, result = run_in_thread(supervisor)
    assert both_ran.wait(60)
    supervisor.request_stop()
    thread.join(90)
    assert result == [0]
    assert ran[:2] == ["ok", "failing"]


# A part that, on SIGTERM, says it is stopping and finishes only once the test lets it ("release"), so
# that a second signal arrives for certain while it is still writing its work down.
SLOW_TO_STOP = """
import pathlib, signal, sys, time
here = pathlib.Path(sys.argv[1])
def stop(*_):
    (here / "stopping").write_text("yes")
    while not (here / "release").exists():
        time.sleep(0.05)
    (here / "flushed").write_text("yes")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
(here / "started").write_text("yes")
while True:
    time.sleep(0.1)
"""
# The supervisor in its own process (signal handlers need a main thread), as `notalone up` runs it.
SUPERVISOR = """
import logging, sys
from notalone.supervisor import PartSpec, Supervisor
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
here, part = sys.argv[1], sys.argv[2]
spec = PartSpec("slow", [sys.executable, "-c", part, here])
supervisor = Supervisor([spec], poll_s=0.05, stop_timeout_s=600)
supervisor.install_signal_handlers()
sys.exit(supervisor.run())
"""


def start_supervisor(tmp_path: Path, part: str) -> subprocess.Popen[str]:
    """The supervisor script over ``part``, in its own process group, as `make run` starts `up`."""
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(tmp_path), part],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    poll(lambda: path.exists() or process.poll() is not None, 60, str(path))
    assert path.exists(), process.communicate()[0]


def test_sigterm_to_the_process_group_twice_is_one_clean_stop(tmp_path: Path) -> None:
    """`make run` stopped by its group: make passes the SIGTERM on, so `up` gets it twice."""
    process = start_supervisor(tmp_path, SLOW_TO_STOP)
    try:
        wait_for(tmp_path / "started", process)
        os.killpg(process.pid, signal.SIGTERM)
        wait_for(tmp_path / "stopping", process)
        os.killpg(process.pid, signal.SIGTERM)  # the second delivery, as make's
        (tmp_path / "release").write_text("yes")
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output
    assert (tmp_path / "flushed").read_text() == "yes"
    assert "killed" not in output and "killing" not in output


def test_a_second_ctrl_c_kills_the_parts_at_once(tmp_path: Path) -> None:
    process = start_supervisor(tmp_path, SLOW_TO_STOP)
    try:
        wait_for(tmp_path / "started", process)
        process.send_signal(signal.SIGINT)
        wait_for(tmp_path / "stopping", process)
        process.send_signal(signal.SIGINT)  # never released: only the kill ends it
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "second Ctrl-C: the parts were killed" in output
    assert not (tmp_path / "flushed").exists()


SPAWNER = """
import pathlib, subprocess, sys, time
here = pathlib.Path(sys.argv[1])
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
(here / "grandchild").write_text(str(child.pid))
while True:
    time.sleep(0.1)
"""


def gone(pid: int) -> bool:
    """Not running: no such process, or a zombie waiting for whoever adopted it to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def test_stopping_a_part_ends_what_it_started(tmp_path: Path) -> None:
    supervisor, thread, result = run_until_ready(
        "spawner", python(SPAWNER, str(tmp_path)), tmp_path / "grandchild"
    )
    grandchild = int((tmp_path / "grandchild").read_text())
    supervisor.request_stop()
    thread.join(90)
    assert result == [0]
    poll(lambda: gone(grandchild), 60, "the part's own child process to end")
