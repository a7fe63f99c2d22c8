"""How runs execute: every job's steps in the run's one process, and a run whose process died is
marked failed (its `warehouse_writer` slot freed) instead of holding back every later run."""

import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
from dagster._core.events.log import EventLogEntry

from orchestration.definitions import defs
from orchestration.defs import automation, sensors
from orchestration.run import process_start, reap_dead_runs

POOL = "warehouse_writer"


def test_every_job_runs_its_steps_in_one_process():
    jobs = [defs.resolve_job_def(job.name) for job in automation.JOBS]
    assert {job.executor_def.name for job in jobs} == {dg.in_process_executor.name}


def _ended_pid() -> int:
    """The pid of a process that has run and ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _started_run(
    instance, run_id: str, pid: int, *, reported_at: float | None = None, job: str = "bimo_gateway"
) -> dg.DagsterRun:
    """A run as the daemon's run worker leaves it: started, the pid of its process reported (at
    `reported_at`, default now), a step holding the writer slot."""
    run = instance.add_run(
        dg.DagsterRun(job_name=job, run_id=run_id, status=dg.DagsterRunStatus.STARTED)
    )
    message = f"Started process for run (pid: {pid})."
    event = DagsterEvent(
        DagsterEventType.ENGINE_EVENT.value,
        job,
        message=message,
        event_specific_data=EngineEventData.in_process(pid),
        pid=pid,
    )
    when = time.time() if reported_at is None else reported_at
    instance.store_event(
        EventLogEntry(None, logging.DEBUG, message, run_id, when, None, job, event)
    )
    instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "gateway_logs")
    return run


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 2)  # both runs can hold one
        yield instance


def _slot_holders(instance) -> set[str]:
    info = instance.event_log_storage.get_concurrency_info(POOL)
    return {slot.run_id for slot in info.claimed_slots}


def test_a_run_whose_process_ended_is_marked_failed_and_frees_its_slot(instance):
    _started_run(instance, "dead", _ended_pid())
    _started_run(instance, "alive", os.getpid())  # this process: started before its event
    assert _slot_holders(instance) == {"dead", "alive"}

    assert reap_dead_runs(instance) == ["dead"]
    assert instance.get_run_by_id("dead").status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id("alive").status == dg.DagsterRunStatus.STARTED
    assert _slot_holders(instance) == {"alive"}
    assert reap_dead_runs(instance) == []  # judged once


def test_a_run_not_yet_started_is_left_alone(instance):
    instance.add_run(
        dg.DagsterRun(job_name="bimo_daily", run_id="new", status=dg.DagsterRunStatus.STARTING)
    )  # no process reported yet: the launcher's own start timeout covers it
    assert reap_dead_runs(instance) == []
    assert instance.get_run_by_id("new").status == dg.DagsterRunStatus.STARTING


def test_a_reused_pid_is_told_from_the_runs_process(instance):
    before = time.time()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_start(child.pid)
        assert started is not None and before - 2 <= started <= time.time() + 2
        # the same live pid: reported by a run a minute before the child began (so a later
        # process holds it), and by a run just now
        _started_run(instance, "pid-reused", child.pid, reported_at=before - 60)
        _started_run(instance, "pid-own", child.pid)
        assert reap_dead_runs(instance) == ["pid-reused"]
        assert instance.get_run_by_id("pid-own").status == dg.DagsterRunStatus.STARTED
    finally:
        child.kill()
        child.wait()
    assert process_start(child.pid) is None
    assert reap_dead_runs(instance) == ["pid-own"]


def test_the_hourly_schedule_is_not_held_back_by_a_dead_run(instance):
    when = datetime(2026, 11, 3, 9, 15, tzinfo=UTC)
    _started_run(instance, "killed", _ended_pid())
    result = automation.gateway_schedule(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
    )
    assert isinstance(result, dg.RunRequest) and result.partition_key == "2026-11-03"
    assert instance.get_run_by_id("killed").status == dg.DagsterRunStatus.FAILURE
    assert _slot_holders(instance) == set()

    _started_run(instance, "running", os.getpid())  # a live run still makes the tick skip
    skipped = automation.gateway_schedule(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
    )
    assert isinstance(skipped, dg.SkipReason) and "running" in skipped.skip_message


def test_the_dead_runs_sensor_frees_the_slot_whatever_schedules_are_on(instance):
    assert sensors.dead_runs_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    _started_run(instance, "killed", _ended_pid(), job="bimo_daily")
    _started_run(instance, "running", os.getpid(), job="bimo_daily")
    skipped = sensors.dead_runs_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(skipped, dg.SkipReason) and skipped.skip_message.startswith("1 dead run")
    assert instance.get_run_by_id("killed").status == dg.DagsterRunStatus.FAILURE
    assert _slot_holders(instance) == {"running"}
