"""The supervisor with tiny real child processes: restart with backoff, give up, stop cleanly or by force."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest

from notalone.supervisor import Backoff, PartSpec, PeriodicTask, Supervisor

FAST = Backoff(first_s=0.05, max_s=0.2, healthy_after_s=60.0, give_up_after=3)
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


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def run_in_thread(supervisor: Supervisor) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(supervisor.run()), daemon=True)
    thread.start()
    return thread, result


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
    assert any(r.getMessage() == "part keeps failing, giving up" for r in caplog.records)


def test_stop_sends_sigterm_and_waits_for_the_part_to_finish(tmp_path: Path) -> None:
    announced = threading.Event()
    supervisor = Supervisor(
        [
            PartSpec(
                "graceful",
                python(GRACEFUL, str(tmp_path)),
                ready=lambda _since: (tmp_path / "started").exists(),
            )
        ],
        on_ready=announced.set,
        poll_s=0.02,
        stop_timeout_s=60,
    )
    thread, result = run_in_thread(supervisor)
    assert announced.wait(60), "the part never became ready"
    supervisor.request_stop()
    thread.join(90)
    assert result == [0]
    assert (tmp_path / "flushed").read_text() == "yes"


def test_a_part_ignoring_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notalone")
    announced = threading.Event()
    supervisor = Supervisor(
        [
            PartSpec(
                "stubborn",
                python(STUBBORN, str(tmp_path)),
                ready=lambda _since: (tmp_path / "started").exists(),
            )
        ],
        on_ready=announced.set,
        poll_s=0.02,
        stop_timeout_s=0.5,
    )
    thread, result = run_in_thread(supervisor)
    assert announced.wait(60)
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
