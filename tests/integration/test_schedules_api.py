"""The schedules API against PostgreSQL and moto's EventBridge Scheduler: the two kept in step."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from exporter.adapters.scheduler import EventBridgeScheduler
from exporter.settings import ADMIN_GROUP

QUERY = {"method": "PLATFORM_EQUALS", "args": ["FACEBOOK"]}
NIGHTLY = {
    "name": "nightly facebook",
    "target": {"query": QUERY, "fields": ["observation.uuid"]},
    "expression": "cron(0 2 * * ? *)",
    "timezone": "Europe/Paris",
}


def create(api, body=None, user: str = "alice", **changes):
    return api("POST", "/schedules", body={**(body or NIGHTLY), **changes}, user=user)


def test_a_schedule_is_made_in_scheduler_and_shows_its_next_three_runs(api, scheduling) -> None:
    # WHEN alice schedules a nightly query export at 02:00 Paris time
    reply = create(api)
    # THEN 201: enabled, the next three runs are 02:00 in Paris on consecutive days, no runs yet
    assert reply.status == 201, reply.body
    schedule = reply.body
    assert schedule["enabled"] is True and schedule["owner_id"] == "alice" and schedule["last_runs"] == []
    runs = [datetime.fromisoformat(t) for t in schedule["next_runs"]]
    assert len(runs) == 3 and runs[0] > datetime.now(UTC)
    paris = [t.astimezone(ZoneInfo("Europe/Paris")) for t in runs]
    assert [(t.hour, t.minute) for t in paris] == [(2, 0)] * 3
    assert [b.date() - a.date() for a, b in itertools.pairwise(paris)] == [timedelta(days=1)] * 2
    assert schedule["next_run"] == schedule["next_runs"][0]
    # AND EventBridge Scheduler holds the same schedule, firing the fire function with the schedule id
    (made,) = scheduling.schedules().values()
    assert made["Name"] == schedule["schedule_id"]
    assert made["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert made["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert made["FlexibleTimeWindow"] == {"Mode": "OFF"} and made["State"] == "ENABLED"
    target = made["Target"]
    assert json.loads(target["Input"]) == {
        "schedule_id": schedule["schedule_id"],
        "fire_time": "<aws.scheduler.scheduled-time>",
    }
    assert target["DeadLetterConfig"]["Arn"] and target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    # AND it is listed and readable
    listed = api("GET", "/schedules").body["items"]
    assert [s["schedule_id"] for s in listed] == [schedule["schedule_id"]]
    assert api("GET", f"/schedules/{schedule['schedule_id']}").body["next_runs"] == schedule["next_runs"]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"expression": "cron(0 2 * * * *)"}, "exactly one of day-of-month and day-of-week must be '?'"),
        ({"expression": "cron(0 2 * * ?)"}, "cron needs 6 fields"),
        ({"expression": "cron(0 25 * * ? *)"}, "cron hours: 25 is outside 0-23"),
        ({"expression": "rate(1 days)"}, "use 'day' for 1 and 'days' for more"),
        ({"expression": "rate(5 weeks)"}, "is not minute(s), hour(s) or day(s)"),
        ({"expression": "every day"}, "is not cron(…), rate(…) or at(…)"),
        ({"expression": "at(2020-01-01T00:00:00)"}, "is not in the future"),
        ({"expression": "at(2030-02-30T00:00:00)"}, "is not a real date and time"),
        ({"timezone": "Mars/Olympus"}, "is not an IANA time zone name"),
        ({"target": {"query": {"method": "NOPE", "args": []}}}, "NOPE"),
        ({"target": {"query": QUERY, "fields": ["no.such.field"]}}, "no.such.field"),
        ({"target": {"query": QUERY, "schedule": "x"}}, "schedule"),
        ({"target": {"dataset": "observations", "parameters": {"d": "{{ tomorrow }}"}}}, "{{ tomorrow }}"),
        ({"target": {"dataset": "observations"}}, "parameter 'start_date' is required"),
        ({"owner": "bob"}, "owner"),
    ],
)
def test_a_schedule_that_cannot_run_is_a_400_that_says_why_and_nothing_is_made(
    api, scheduling, changes, fragment: str
) -> None:
    reply = create(api, **changes)
    assert reply.status == 400, reply.body
    assert fragment in reply.body["message"]
    assert scheduling.schedules() == {}
    assert api("GET", "/schedules").body["items"] == []


def test_a_query_export_schedule_is_its_owners_alone(api, scheduling) -> None:
    schedule_id = create(api).body["schedule_id"]
    # bob neither sees nor touches it: 404 as if it did not exist
    assert api("GET", "/schedules", user="bob").body["items"] == []
    for method, body in (("GET", None), ("PATCH", {"enabled": False}), ("DELETE", None)):
        reply = api(method, f"/schedules/{schedule_id}", user="bob", body=body)
        assert reply.status == 404 and reply.body["message"] == "schedule not found", (method, reply.body)
    assert scheduling.schedules()[schedule_id]["State"] == "ENABLED"
    # an admin sees every schedule
    create(api, user="bob", name="bob's")
    admin = api("GET", "/schedules", user="carol", groups=[ADMIN_GROUP]).body["items"]
    assert sorted(s["owner_id"] for s in admin) == ["alice", "bob"]


def test_pausing_and_retiming_change_scheduler_too(api, scheduling) -> None:
    schedule_id = create(api).body["schedule_id"]
    # WHEN alice pauses it: no next runs, Scheduler's schedule is disabled
    paused = api("PATCH", f"/schedules/{schedule_id}", body={"enabled": False})
    assert paused.status == 200 and paused.body["enabled"] is False and paused.body["next_runs"] == []
    assert scheduling.schedules()[schedule_id]["State"] == "DISABLED"
    # WHEN she resumes it every 6 hours in UTC
    body = {"enabled": True, "expression": "rate(6 hours)", "timezone": "UTC"}
    resumed = api("PATCH", f"/schedules/{schedule_id}", body=body).body
    runs = [datetime.fromisoformat(t) for t in resumed["next_runs"]]
    assert [b - a for a, b in itertools.pairwise(runs)] == [timedelta(hours=6)] * 2
    made = scheduling.schedules()[schedule_id]
    assert (made["State"], made["ScheduleExpression"], made["ScheduleExpressionTimezone"]) == (
        "ENABLED",
        "rate(6 hours)",
        "UTC",
    )
    # AND a bad expression changes neither side
    bad = api("PATCH", f"/schedules/{schedule_id}", body={"expression": "rate(0 hours)"})
    assert bad.status == 400 and "positive whole number" in bad.body["message"]
    assert scheduling.schedules()[schedule_id]["ScheduleExpression"] == "rate(6 hours)"
    assert api("GET", f"/schedules/{schedule_id}").body["expression"] == "rate(6 hours)"


def test_deleting_a_schedule_removes_it_from_scheduler(api, scheduling) -> None:
    schedule_id = create(api).body["schedule_id"]
    assert api("DELETE", f"/schedules/{schedule_id}").status == 204
    assert scheduling.schedules() == {}
    assert api("GET", f"/schedules/{schedule_id}").status == 404
    assert api("DELETE", f"/schedules/{schedule_id}").status == 404


def test_a_user_may_hold_only_so_many_schedules(api, scheduling, monkeypatch) -> None:
    monkeypatch.setenv("MAX_SCHEDULES_PER_USER", "2")
    from api import dependencies

    dependencies.settings.cache_clear()
    dependencies.dependencies.cache_clear()
    assert create(api, name="one").status == 201
    assert create(api, name="two").status == 201
    third = create(api, name="three")
    assert third.status == 409 and "the most one user may hold (2)" in third.body["message"]
    assert len(scheduling.schedules()) == 2
    # another user has a limit of their own; a name is unique per user
    assert create(api, name="one", user="bob").status == 201
    again = create(api, name="one", user="bob")
    assert again.status == 409 and "already have a schedule named 'one'" in again.body["message"]


def test_a_scheduler_failure_leaves_no_schedule_row(api, scheduling) -> None:
    # GIVEN Scheduler refuses: the schedule group is gone
    scheduling.client.delete_schedule_group(Name=scheduling.group)
    # WHEN alice creates a schedule THEN 503 saying nothing was made, and nothing is listed
    reply = create(api)
    assert reply.status == 503 and "EventBridge Scheduler" in reply.body["message"], reply.body
    assert api("GET", "/schedules").body["items"] == []


def _drop_connection_after(monkeypatch, method: str, postgres_url: str) -> None:
    """Make Scheduler's ``method`` succeed, then kill the API's database connection mid-transaction."""
    original = getattr(EventBridgeScheduler, method)

    def then_kill(self, *args, **kwargs):
        original(self, *args, **kwargs)
        conn = psycopg2.connect(postgres_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
            )
        conn.close()

    monkeypatch.setattr(EventBridgeScheduler, method, then_kill)


def test_a_database_failure_after_scheduler_agreed_is_undone_in_scheduler(
    api, scheduling, postgres, monkeypatch
) -> None:
    kept = create(api, name="kept").body["schedule_id"]
    # GIVEN the database connection drops after Scheduler made the schedule, before the row commits
    _drop_connection_after(monkeypatch, "create", postgres.url)
    reply = create(api, name="lost")
    # THEN 503, and Scheduler holds only the schedule made before
    assert reply.status == 503, reply.body
    assert list(scheduling.schedules()) == [kept]
    monkeypatch.undo()
    assert [s["name"] for s in api("GET", "/schedules").body["items"]] == ["kept"]


def test_a_database_failure_while_deleting_puts_the_scheduler_schedule_back(
    api, scheduling, postgres, monkeypatch
) -> None:
    schedule_id = create(api).body["schedule_id"]
    _drop_connection_after(monkeypatch, "delete", postgres.url)
    assert api("DELETE", f"/schedules/{schedule_id}").status == 503
    # THEN the schedule still exists on both sides and still fires
    assert scheduling.schedules()[schedule_id]["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert api("GET", f"/schedules/{schedule_id}").status == 200


def test_a_database_failure_while_pausing_restores_scheduler(api, scheduling, postgres, monkeypatch) -> None:
    schedule_id = create(api).body["schedule_id"]
    _drop_connection_after(monkeypatch, "update", postgres.url)
    assert api("PATCH", f"/schedules/{schedule_id}", body={"enabled": False}).status == 503
    assert scheduling.schedules()[schedule_id]["State"] == "ENABLED"
    assert api("GET", f"/schedules/{schedule_id}").body["enabled"] is True


def test_schedules_are_made_at_schedules_not_on_post_exports(api, scheduling, jobs_queue) -> None:
    reply = api("POST", "/exports", body={"query": QUERY, "schedule": "cron(0 2 * * ? *)"})
    assert reply.status == 400 and "schedule" in reply.body["message"]
    assert jobs_queue.take() == []
    assert scheduling.schedules() == {}
