"""The fire function: a fire time becomes one export of the schedule's owner, once, with its parameters filled in."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from exporter.adapters import aws, postgres
from exporter.adapters.sqs import JobQueue
from exporter.exports.fields import FieldsRepository
from exporter.jobs.repository import JobsRepository
from exporter.schedules.fire import fire, parse_fire_time
from exporter.schedules.repository import SchedulesRepository
from exporter.schedules.targets import Targets

QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}
ANALYSTS = "analysts"
YESTERDAY = {"start_date": "{{ run_date - 1 day }}", "end_date": "{{ run_date - 1 day }}"}


def _clear_cached_ports() -> None:
    from api import dependencies as api_deps
    from scheduler import dependencies as fire_deps
    from worker import dependencies as worker_deps

    for cached in (
        api_deps.dependencies,
        api_deps.catalogue_at,
        fire_deps.settings,
        fire_deps.catalogue,
        fire_deps.ports,
    ):
        cached.cache_clear()
    for cached in (worker_deps.settings, worker_deps.dataset_worker):
        cached.cache_clear()


@pytest.fixture
def analysts_dataset(scheduling, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The shipped observations dataset as ``analyst_observations``, runnable by the group ``analysts`` only."""
    folder = tmp_path / "datasets" / "analyst_observations"
    shutil.copytree(Path("datasets/observations"), folder)
    toml = folder / "dataset.toml"
    toml.write_text(toml.read_text().replace('groups = ["*"]', f'groups = ["{ANALYSTS}"]'))
    monkeypatch.setenv("DATASETS_PATH", str(tmp_path / "datasets"))
    _clear_cached_ports()
    yield "analyst_observations"
    monkeypatch.undo()
    _clear_cached_ports()


def schedule(api, target=None, user: str = "alice", groups: list[str] | None = None, **fields) -> str:
    body = {
        "name": "hourly",
        "target": target or {"query": QUERY, "fields": ["observation.uuid"]},
        "expression": "rate(1 hour)",
        **fields,
    }
    reply = api("POST", "/schedules", body=body, user=user, groups=groups)
    assert reply.status == 201, reply.body
    return str(reply.body["schedule_id"])


def test_a_fire_requests_the_export_as_the_owner_and_the_run_shows_its_id(
    api, scheduling, fire_schedule, jobs_queue
) -> None:
    schedule_id = schedule(api)
    # WHEN Scheduler fires it
    result = fire_schedule(schedule_id, "2026-12-03T02:00:00Z")
    # THEN an export of alice's, queued like any other
    assert result["outcome"] == "created"
    export = api("GET", f"/exports/{result['export_id']}").body
    assert export["creator_id"] == "alice" and export["kind"] == "query" and export["status"] == "pending"
    assert export["export_parameters"]["query"] == QUERY
    (message,) = [json.loads(b) for b in jobs_queue.take()]
    assert message["export_id"] == result["export_id"]
    # AND the schedule lists the run: its fire time and export id
    (run,) = api("GET", f"/schedules/{schedule_id}").body["last_runs"]
    assert datetime.fromisoformat(run["fire_time"]) == datetime(2026, 12, 3, 2, tzinfo=UTC)
    assert run["state"] == "created" and run["export_id"] == result["export_id"]


def fire_in_own_container(schedule_id: str, fire_time: str) -> str:
    """One fire as a container of its own runs it: its own database connection."""
    from scheduler.dependencies import settings

    config = settings()
    db = postgres.database(config)
    targets = Targets(
        jobs=JobsRepository(db),
        catalogue=FieldsRepository(db),
        queue=JobQueue(aws.client("sqs"), config.SQS_QUEUE_URL),
        max_retries=config.MAX_RETRIES,
    )
    try:
        result = fire(UUID(schedule_id), parse_fire_time(fire_time), schedules=SchedulesRepository(db), targets=targets)
    finally:
        db.close()
    return result.outcome.value


def test_a_fire_delivered_twice_makes_one_export(api, scheduling, fire_schedule, jobs_queue) -> None:
    schedule_id = schedule(api)
    # WHEN the same fire arrives four times at once (four containers), then once more later
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: fire_in_own_container(schedule_id, "2026-12-03T02:00:00Z"), range(4)))
    outcomes.append(fire_schedule(schedule_id, "2026-12-03T02:00:00.000Z")["outcome"])
    # THEN one export, one run, one message
    assert sorted(outcomes) == ["created"] + ["duplicate"] * 4
    assert len(api("GET", "/exports").body["items"]) == 1
    assert len(api("GET", f"/schedules/{schedule_id}").body["last_runs"]) == 1
    assert len(jobs_queue.take()) == 1
    # AND the next fire time is a run of its own
    assert fire_schedule(schedule_id, "2026-12-03T03:00:00Z")["outcome"] == "created"


def test_relative_parameters_are_filled_in_from_the_fire_time_in_the_schedules_time_zone(
    api, scheduling, fire_schedule
) -> None:
    # GIVEN a nightly schedule in Tokyo exporting the day before each run
    query = {
        "method": "AND",
        "args": [
            {"method": "DATETIME_AFTER", "args": ["{{ run_ms - 1 day }}"]},
            {"method": "DATETIME_BEFORE", "args": ["{{ run_ms }}"]},
        ],
    }
    schedule_id = schedule(api, {"query": query}, expression="cron(0 2 * * ? *)", timezone="Asia/Tokyo")
    # WHEN it fires at 02:00 Tokyo time (17:00 UTC the day before)
    result = fire_schedule(schedule_id, "2026-12-02T17:00:00Z")
    # THEN the export asks for exactly the 24 hours before the run
    export = api("GET", f"/exports/{result['export_id']}").body
    run = datetime(2026, 12, 2, 17, tzinfo=UTC)
    after, before = (arg["args"][0] for arg in export["export_parameters"]["query"]["args"])
    assert int(after) == int((run - timedelta(days=1)).timestamp() * 1000)
    assert int(before) == int(run.timestamp() * 1000)


def test_a_paused_or_deleted_schedule_fires_into_nothing(api, scheduling, fire_schedule, jobs_queue) -> None:
    paused = schedule(api, name="paused")
    api("PATCH", f"/schedules/{paused}", body={"enabled": False})
    deleted = schedule(api, name="deleted")
    api("DELETE", f"/schedules/{deleted}")
    assert fire_schedule(paused, "2026-12-03T02:00:00Z")["outcome"] == "skipped"
    assert fire_schedule(deleted, "2026-12-03T02:00:00Z")["outcome"] == "skipped"
    assert api("GET", "/exports").body["items"] == []
    assert jobs_queue.take() == []
    assert api("GET", f"/schedules/{paused}").body["last_runs"] == []


def test_a_fire_whose_export_is_refused_records_why(api, scheduling, fire_schedule, db) -> None:
    schedule_id = schedule(api, {"query": QUERY, "fields": ["observation.uuid"]})
    # GIVEN the field the schedule exports left the catalogue since
    with db.cursor() as cur:
        cur.execute("UPDATE exportable_fields SET path = 'observation.uuid_gone' WHERE path = 'observation.uuid'")
    try:
        result = fire_schedule(schedule_id, "2026-12-03T02:00:00Z")
    finally:
        with db.cursor() as cur:
            cur.execute("UPDATE exportable_fields SET path = 'observation.uuid' WHERE path = 'observation.uuid_gone'")
    # THEN no export, and the run says why
    assert result["outcome"] == "failed"
    (run,) = api("GET", f"/schedules/{schedule_id}").body["last_runs"]
    assert run["state"] == "failed" and run["export_id"] is None and "observation.uuid" in run["message"]


def test_a_dataset_schedule_fires_as_its_owner_and_its_export_runs(
    api, scheduling, analysts_dataset, fire_schedule, drain
) -> None:
    # GIVEN alice of the analysts schedules their dataset nightly, for the day before each run
    target = {"dataset": analysts_dataset, "parameters": YESTERDAY}
    schedule_id = schedule(api, target, groups=[ANALYSTS], expression="cron(0 2 * * ? *)")
    # WHEN Scheduler fires it (the fire runs as alice, with the groups she had)
    result = fire_schedule(schedule_id, "2026-12-03T02:00:00Z")
    # THEN a dataset export of alice's, for 2 December, which the worker completes
    assert result["outcome"] == "created", result
    export = api("GET", f"/exports/{result['export_id']}").body
    assert export["creator_id"] == "alice" and export["kind"] == "dataset"
    assert export["export_parameters"]["dataset"] == analysts_dataset
    assert export["export_parameters"]["parameters"] == {"start_date": "2026-12-02", "end_date": "2026-12-02"}
    assert drain() >= 1
    assert api("GET", f"/exports/{result['export_id']}").body["status"] == "completed"
    (run,) = api("GET", f"/schedules/{schedule_id}").body["last_runs"]
    assert run["state"] == "created" and run["export_id"] == result["export_id"]


def test_scheduling_a_dataset_outside_ones_groups_is_404_and_nothing_is_made(api, scheduling, analysts_dataset) -> None:
    # GIVEN bob is not an analyst
    reply = api(
        "POST",
        "/schedules",
        user="bob",
        body={
            "name": "n",
            "target": {"dataset": analysts_dataset, "parameters": YESTERDAY},
            "expression": "rate(1 day)",
        },
    )
    # THEN the dataset does not exist for him, and no schedule is made
    assert reply.status == 404 and reply.body["message"] == f"dataset {analysts_dataset!r} not found"
    assert scheduling.schedules() == {}
    assert api("GET", "/schedules", user="bob").body["items"] == []


def test_an_operator_schedule_fires_as_the_system_once_per_fire_time(scheduling, fire_schedule, db, jobs_queue) -> None:
    from scheduler.handler import lambda_handler
    from tests.support import context

    with db.cursor() as cur:
        cur.execute("TRUNCATE operator_schedule_runs")
    # GIVEN the observations dataset's [schedule] (yesterday, nightly), which has no schedule row
    event = {"dataset": "observations", "fire_time": "2026-12-03T02:00:00Z"}
    # WHEN Scheduler delivers its fire twice
    first, second = (dict(lambda_handler(dict(event), context())) for _ in range(2))
    # THEN one export, of the system, for the day before; the second delivery did nothing
    assert first["outcome"] == "created" and second["outcome"] == "duplicate"
    from scheduler.dependencies import ports

    export = ports()[1].jobs.get(UUID(first["export_id"]))
    assert export is not None and export.creator_id == "system:operator-schedule" and export.kind == "dataset"
    assert export.parameters.model_dump()["parameters"] == {"start_date": "2026-12-02", "end_date": "2026-12-02"}
    assert len(jobs_queue.take()) == 1
    # AND the run is recorded once, with its export
    with db.cursor() as cur:
        cur.execute("SELECT dataset, state, export_id::text FROM operator_schedule_runs")
        assert cur.fetchall() == [("observations", "created", first["export_id"])]
    # AND a dataset without a [schedule] fires into nothing
    assert (
        dict(lambda_handler({"dataset": "agency", "fire_time": "2026-12-03T02:00:00Z"}, context()))["outcome"]
        == "skipped"
    )
