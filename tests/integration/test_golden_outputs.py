"""Golden outputs: the exact bytes a user downloads, pinned so a refactor can prove it changed nothing.

Two artefacts are pinned by their SHA-256, with every source of variation fixed:

* the ZIP archive of a query export (without and with images), produced by the real worker
  (``run_export``) against PostgreSQL and moto S3, with a fixed export id, creator, creation,
  start and completion times, and a fixed clock for the ZIP entries' timestamps;
* the masked capture CSV of a fixed NEF message stream, built row by row with ``capture_row``
  under a fixed masking key and fixed receive times, and also recorded by the real
  ``run_capture`` from a real Redis with a fixed clock.

The clocks are fixed by monkeypatching these module-level names (update them if the modules move):

* ``exporter.exports.run.datetime`` - ``datetime.now(UTC)`` gives ``completed_at`` in export_details.json;
* ``exporter.output.zipstream.time`` - ``time.time()`` gives the DOS date/time of every ZIP entry;
* ``exporter.captures.run.time``   - ``time.time()`` gives the window start and each row's timestamp.

The database clock (``now()`` in the repository's SQL) is fixed by writing fixed timestamps
into the row after it is created and after it is claimed; ``PGTZ=UTC`` makes the values read
back independent of the machine's time zone.

If a digest changes, the output a user downloads changed: check the readable assertions
above the digest first, and only update a digest on purpose.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import threading
import time
import types
import uuid
import zipfile
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from typing import Any

import boto3
import pytest
import redis

from exporter.adapters.postgres import Database, connect_url
from exporter.adapters.s3 import S3Store
from exporter.adapters.sqs import JobQueue
from exporter.captures import run as capture_module
from exporter.captures.kind import CAPTURE
from exporter.captures.masking import Masker
from exporter.captures.model import CaptureMessage, CaptureParameters
from exporter.captures.rows import CSV_HEADER, capture_row
from exporter.captures.run import CaptureRun
from exporter.exports import run as export_job_module
from exporter.exports.kind import QUERY_EXPORT
from exporter.exports.model import ExportMessage, ExportParameters
from exporter.exports.run import QueryExportRun
from exporter.jobs.lifecycle import LifecycleConfig, LifecyclePorts, Outcome, run_job
from exporter.jobs.repository import JobsRepository
from exporter.output import zipstream as zipstream_module
from local.observations import insert_observations
from tests.support import observation

# --- the fixed inputs -------------------------------------------------------------------------

EXPORT_ID = uuid.UUID("0f0e0d0c-0b0a-4909-8807-060504030201")
CAPTURE_ID = uuid.UUID("1a2b3c4d-5e6f-4a0b-9c1d-2e3f40516273")
CREATOR_ID = "golden-user"
OWNER = "golden-worker"
CREATED_AT = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
UPDATED_AT = datetime(2026, 3, 14, 9, 27, 0, tzinfo=UTC)
STARTED_AT = datetime(2026, 3, 14, 9, 27, 5, 123456, tzinfo=UTC)
COMPLETED_AT = datetime(2026, 3, 14, 9, 28, 30, 654321, tzinfo=UTC)
ZIP_EPOCH = datetime(2026, 3, 14, 9, 28, 31, tzinfo=UTC).timestamp()
CAPTURE_EPOCH = datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC).timestamp()

QUERY = {"method": "OR", "args": [{"method": "PLATFORM_EQUALS", "args": ["facebook", "INSTAGRAM"]}]}
FIELDS = [
    "observation.uuid",
    "observer.uuid",
    "observation.platform",
    "observation.observed_on_device_at",
    "observation.keyframes.ocr_data.text",
    "attributes.starred.value",
    "tags",
    "classifications",
    "media",
]
PLATFORMS = ("FACEBOOK", "INSTAGRAM", "TIKTOK", "FACEBOOK", "INSTAGRAM")  # TIKTOK (n = 2) is not selected
OCR_TEXTS = ("Sponsored", "=cmd|' /C calc'!A0", "Not exported", "Publicité: 20 € off", 'Say "hi", then\nleave')

MASKING_KEY = b"golden-masking-key-0123456789abcdef"

# --- the pinned digests (obtained by running the code as it is today) ---------------------------

ZIP_WITHOUT_IMAGES_SHA256 = "9f409b9527107eb4918718be207680d0b881491e3510923c4ac5d5a066b16e6b"
ZIP_WITH_IMAGES_SHA256 = "7c5967614599a7457cfa003c5da18ce4bfaaff61782cf9d5c0c910c023036262"
CAPTURE_ROWS_CSV_SHA256 = "93fd82392c7b2fea4f42ef3772ceed244868068fa55dbfe0187bff9c552eb4ff"
CAPTURE_RUN_CSV_SHA256 = "cf4c7792a4e0fd216bc1fd29e906632d75bf990ee5c6eb20d0e6880a69a95ef8"


# --- fixed clocks -----------------------------------------------------------------------------


class _FixedDatetime(datetime):
    """``datetime`` whose ``now()`` is ``COMPLETED_AT`` (in the zone asked for)."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return COMPLETED_AT if tz is None else COMPLETED_AT.astimezone(tz)


def _clock(epoch: float) -> types.SimpleNamespace:
    """A stand-in for the ``time`` module seen by one module: ``time()`` is fixed, the rest is real."""
    return types.SimpleNamespace(
        time=lambda: epoch,
        gmtime=time.gmtime,
        monotonic=time.monotonic,
        sleep=time.sleep,
        perf_counter=time.perf_counter,
    )


@pytest.fixture
def fixed_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_job_module, "datetime", _FixedDatetime)
    monkeypatch.setattr(zipstream_module, "time", _clock(ZIP_EPOCH))
    monkeypatch.setattr(capture_module, "time", _clock(CAPTURE_EPOCH))


@pytest.fixture
def utc_database(postgres, monkeypatch: pytest.MonkeyPatch):
    """Connections whose session time zone is UTC, whatever the machine's."""
    monkeypatch.setenv("PGTZ", "UTC")
    databases: list[Database] = []

    def make() -> Database:
        database = Database(lambda: connect_url(postgres.url))
        databases.append(database)
        return database

    yield make
    for database in databases:
        database.close()


class _FixedTimesRepository(JobsRepository):
    """The real repository, but the claim leaves fixed ``started_at``/``updated_at`` in the row."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self._database = database

    def claim(self, export_id: uuid.UUID, attempt: int, *, owner: str, lease_seconds: int) -> bool:
        claimed = super().claim(export_id, attempt, owner=owner, lease_seconds=lease_seconds)
        if claimed:
            with self._database.cursor() as cur:
                cur.execute(
                    "UPDATE exports SET started_at = %s, updated_at = %s WHERE export_id = %s",
                    (STARTED_AT, STARTED_AT, str(export_id)),
                )
        return claimed


def _fix_creation_times(database: Database, export_id: uuid.UUID) -> None:
    with database.cursor() as cur:
        cur.execute(
            "UPDATE exports SET created_at = %s, updated_at = %s WHERE export_id = %s",
            (CREATED_AT, UPDATED_AT, str(export_id)),
        )


# --- 1. the query export's ZIP archive --------------------------------------------------------


def _documents() -> list[dict[str, Any]]:
    return [
        observation(
            n,
            platform=PLATFORMS[n],
            media=2 if n == 3 else 1,
            ocr_text=OCR_TEXTS[n],
            observer="=HYPERLINK(1)" if n == 4 else None,
        )
        for n in range(len(PLATFORMS))
    ]


def _image_bytes(key: str) -> bytes:
    return b"\xff\xd8\xff\xe0golden image " + key.encode() + b"\xff\xd9"


def _run_golden_export(service_env, db, utc_database, *, include_images: bool) -> tuple[bytes, str]:
    """Insert the fixed observations (and images), run the worker once; the archive's bytes and key."""
    documents = _documents()
    insert_observations(db, documents)
    missing_key = documents[3]["media"][1]  # the second image of the second-to-last ad is not in the bucket
    s3 = boto3.client("s3")
    for doc in documents:
        for key in doc["media"]:
            if key != missing_key:
                s3.put_object(Bucket=service_env.source_bucket, Key=key, Body=_image_bytes(key))

    jobs = _FixedTimesRepository(utc_database())
    parameters = ExportParameters(query=QUERY, fields=FIELDS, include_images=include_images)
    jobs.create(
        export_id=EXPORT_ID,
        creator_id=CREATOR_ID,
        kind=QUERY_EXPORT.kind,
        dataset=QUERY_EXPORT.dataset,
        parameters=parameters,
        max_retries=2,
        query_string="golden",
        fields=FIELDS,
    )
    _fix_creation_times(utc_database(), EXPORT_ID)
    ports = LifecyclePorts(
        jobs=jobs,
        store=S3Store(s3, service_env.exports_bucket),
        queue=JobQueue(boto3.client("sqs"), service_env.queue_url),
    )
    body = QueryExportRun(
        reader=utc_database().connection,
        images=S3Store(s3, service_env.source_bucket),
        fetch_batch_rows=2,  # several batches, as with a large export
    )
    config = LifecycleConfig(
        lease_seconds=120,
        progress_interval_seconds=0.2,
        part_size_bytes=5 * 1024 * 1024,
        retry_backoff_seconds=0,
        expiration_days=7,
    )
    message = ExportMessage(
        export_id=EXPORT_ID, creator_id=CREATOR_ID, export_parameters=parameters, attempt=1, max_retries=2
    )

    result = run_job(message, QUERY_EXPORT, body, ports, config, owner=OWNER)

    assert result.outcome is Outcome.COMPLETED, result
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=service_env.exports_bucket)["Contents"]]
    assert keys == [f"outputs/{CREATOR_ID}_{EXPORT_ID}_20260314092653.zip"]
    body = s3.get_object(Bucket=service_env.exports_bucket, Key=keys[0])["Body"].read()
    return body, missing_key


def _selected_ids() -> list[str]:
    return [d["observation"]["uuid"] for d in _documents() if d["observation"]["platform"] != "TIKTOK"]


def test_the_archive_without_images_is_byte_for_byte_unchanged(service_env, db, utc_database, fixed_clocks) -> None:
    """The ZIP a user downloads for a fixed export (no images) has exactly today's bytes."""
    # GIVEN five fixed observations, four of them on the platforms asked for, and a fixed export, ids and clocks
    # WHEN the worker runs the export without images
    body, _missing = _run_golden_export(service_env, db, utc_database, include_images=False)

    # THEN the archive lists the same entries, in the same order
    archive = zipfile.ZipFile(io.BytesIO(body))
    ads = [f"ads/{i}/data.json" for i in _selected_ids()]
    assert archive.namelist() == [*ads, "all_data.csv", "export_details.json"]
    assert all(info.date_time == (2026, 3, 14, 9, 28, 30) for info in archive.infolist())  # DOS time: 2 s steps
    # AND the CSV and the details read as before
    table = list(csv.reader(io.StringIO(archive.read("all_data.csv").decode("utf-8"))))
    assert table[0] == FIELDS and len(table) == 5
    assert table[4][1] == "'=HYPERLINK(1)"  # a formula-looking cell is neutralised
    assert table[2][4] == "[\"=cmd|' /C calc'!A0\"]"  # a list cell is JSON
    details = json.loads(archive.read("export_details.json"))
    assert details["export_id"] == str(EXPORT_ID) and details["creator_id"] == CREATOR_ID
    assert details["created_at"] == "2026-03-14T09:26:53.589793Z"
    assert details["completed_at"] == COMPLETED_AT.isoformat()
    assert details["progress"] == {"rows_written": 4, "rows_total": 4}
    # AND the bytes are today's bytes
    assert hashlib.sha256(body).hexdigest() == ZIP_WITHOUT_IMAGES_SHA256


def test_the_archive_with_images_is_byte_for_byte_unchanged(service_env, db, utc_database, fixed_clocks) -> None:
    """The ZIP a user downloads for a fixed export with images (one missing) has exactly today's bytes."""
    # GIVEN the same observations, their images in the source bucket but one
    # WHEN the worker runs the export with images
    body, missing_key = _run_golden_export(service_env, db, utc_database, include_images=True)

    # THEN the archive holds each ad's data and images, in the same order
    archive = zipfile.ZipFile(io.BytesIO(body))
    ids = _selected_ids()
    expected = []
    for observation_id in ids:
        expected += [f"ads/{observation_id}/data.json", f"ads/{observation_id}/image_1.jpg"]
    assert archive.namelist() == [*expected, "all_data.csv", "export_details.json"]
    first_image = _documents()[0]["media"][0]
    assert archive.read(f"ads/{ids[0]}/image_1.jpg") == _image_bytes(first_image)
    # AND the details name the missing image
    details = json.loads(archive.read("export_details.json"))
    assert details["missing_images"] == [{"observation_id": _documents()[3]["observation"]["uuid"], "key": missing_key}]
    assert details["images_included"] == 4
    # AND the bytes are today's bytes
    assert hashlib.sha256(body).hexdigest() == ZIP_WITH_IMAGES_SHA256


# --- 2. the capture CSV -----------------------------------------------------------------------

# (channel, payload): NEF-like messages with identities in every place the masker looks.
MESSAGES: list[tuple[str, str]] = [
    (
        "broadcast:ue_reachability",
        json.dumps({"event": "UE_REACHABILITY", "supi": "imsi-001010123456789", "sequence": 0}),
    ),
    (
        "broadcast:location_reporting",
        json.dumps(
            {
                "eventType": "LOCATION_REPORTING",
                "gpsi": "msisdn-33612345678",
                "locationInfo": {"cellId": "12345", "tac": "0001"},
                "sequence": 1,
            }
        ),
    ),
    (
        "broadcast:pdu_session",
        json.dumps(
            {
                "type": "PDU_SES_EST",
                "ueIpv4Addr": "10.45.1.7",
                "ueIpv6Prefix": "2001:db8:0:1::/64",
                "dnn": "internet",
                "sequence": 2,
            }
        ),
    ),
    ("broadcast:raw", "UE imsi-001010999999999 lost at 10.99.0.1, call +33698765432"),
    (
        "broadcast:batch",
        json.dumps([{"supi": "imsi-001010123456789", "ts": 1}, {"pei": "imei-490154203237518", "ts": 2}]),
    ),
    ("broadcast:formula", json.dumps({"event": "=cmd|' /C calc'!A0", "msisdn": 33612345678, "note": "+SUM(A1)"})),
    ("broadcast:numbers", json.dumps({"notificationType": "ROAMING", "imsi": 1010123456789, "id": 1010123456789012})),
    ("broadcast:nested", json.dumps({"monitoringType": "LOSS_OF_CONNECTIVITY", "ue": {"ipv4Addr": "192.0.2.44"}})),
    (
        "broadcast:imsi-001010555555555",
        json.dumps({"event": "CHANNEL_NAMED_BY_IDENTITY", "externalId": "bob@af.example"}),
    ),
    ("broadcast:plain", "@status ok; no identity here"),
    (
        "broadcast:unicode",
        json.dumps({"event": "RÉSEAU", "gpsi": "+33611111111", "text": "Café ☕"}, ensure_ascii=False),
    ),
]
RECEIVED = [CAPTURE_EPOCH + n * 0.137 for n in range(len(MESSAGES))]


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # as the capture writes it
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def test_capture_rows_of_a_fixed_stream_are_byte_for_byte_unchanged() -> None:
    """The masked capture CSV of a fixed NEF stream, under a fixed key, has exactly today's bytes."""
    # GIVEN a masker with a fixed key, salted for a fixed capture id, and fixed messages and receive times
    masker = Masker(MASKING_KEY).for_capture(str(CAPTURE_ID), link_across_captures=False)
    # WHEN each message becomes a CSV row and the rows are written as the capture writes them
    rows = [
        capture_row(masker, channel, payload, at) for (channel, payload), at in zip(MESSAGES, RECEIVED, strict=True)
    ]
    body = _csv_bytes(rows)

    # THEN the rows read as before: timestamps, events, pseudonymous users, formulas neutralised
    assert [r[0] for r in rows][:2] == ["2026-11-22T10:00:00.123Z", "2026-11-22T10:00:00.260Z"]
    assert [r[2] for r in rows][:3] == ["UE_REACHABILITY", "LOCATION_REPORTING", "PDU_SES_EST"]
    assert rows[5][2].startswith("'=")
    assert all(r[3].startswith("anon-") for i, r in enumerate(rows) if i != 9)
    for raw in ("001010123456789", "33612345678", "10.45.1.7", "001010999999999", "490154203237518"):
        assert raw not in body.decode("utf-8")
    # AND the bytes are today's bytes
    assert hashlib.sha256(body).hexdigest() == CAPTURE_ROWS_CSV_SHA256


def row_workers() -> list[BaseProcess]:
    """The capture's masking children (``CAPTURE_PROCESSES`` > 1) alive now."""
    return [child for child in multiprocessing.active_children() if child.name.startswith("capture-rows-")]


@pytest.mark.parametrize("processes", [1, 2], ids=["one process", "two processes"])
def test_a_real_capture_of_a_fixed_stream_is_byte_for_byte_unchanged(
    service_env, redis_server, utc_database, fixed_clocks, processes: int
) -> None:
    """The CSV the capture run uploads for a fixed stream, key, id and clock has exactly today's bytes,
    whether the run masks itself or hands the rows to a child process (``CAPTURE_PROCESSES=2``)."""
    # GIVEN a fixed capture (id, creator, 2 s window on broadcast:*) and a capture run with a fixed key and clock
    jobs = JobsRepository(utc_database())
    jobs.create(
        export_id=CAPTURE_ID,
        creator_id=CREATOR_ID,
        parameters=CaptureParameters(duration_seconds=2),
        max_retries=0,
        kind=CAPTURE.kind,
        dataset=CAPTURE.dataset,
    )
    _fix_creation_times(utc_database(), CAPTURE_ID)
    s3 = boto3.client("s3")
    ports = LifecyclePorts(jobs=jobs, store=S3Store(s3, service_env.exports_bucket), queue=None)
    body = CaptureRun(
        redis=lambda: redis.Redis.from_url(redis_server.url),
        masker=Masker(MASKING_KEY),
        max_seconds=840,
        processes=processes,
    )
    config = LifecycleConfig(
        lease_seconds=60,
        progress_interval_seconds=0.2,
        part_size_bytes=5 * 1024 * 1024,
        expiration_days=7,
    )
    outcome: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: outcome.update(
            result=run_job(
                CaptureMessage(export_id=CAPTURE_ID, creator_id=CREATOR_ID), CAPTURE, body, ports, config, owner=OWNER
            )
        ),
        daemon=True,
    )
    publisher = redis.Redis.from_url(redis_server.url)
    subscribers_before = publisher.pubsub_numpat()

    # WHEN the fixed messages are published inside the window
    thread.start()
    deadline = time.monotonic() + 5
    while publisher.pubsub_numpat() <= subscribers_before:
        assert time.monotonic() < deadline, "the capture never subscribed"
        time.sleep(0.01)
    assert len(row_workers()) == processes - 1  # the run reads; its children, if any, mask
    for channel, payload in MESSAGES:
        publisher.publish(channel, payload)
    thread.join(timeout=15)

    # THEN the capture completed with every message once, and its children ended with the window
    assert outcome["result"].outcome is Outcome.COMPLETED and outcome["result"].rows == len(MESSAGES)
    assert row_workers() == []
    key = f"outputs/{CREATOR_ID}_{CAPTURE_ID}_20260314092653.csv"
    body = s3.get_object(Bucket=service_env.exports_bucket, Key=key)["Body"].read()
    table = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert table[0] == list(CSV_HEADER) and len(table) == 1 + len(MESSAGES)
    assert {r[0] for r in table[1:]} == {"2026-11-22T10:00:00.123Z"}  # the fixed clock
    # AND it is the CSV the rows give with the capture's own salt and the run's clock
    masker = Masker(MASKING_KEY).for_capture(str(CAPTURE_ID), link_across_captures=False)
    assert body == _csv_bytes([capture_row(masker, c, p, CAPTURE_EPOCH) for c, p in MESSAGES])
    # AND the bytes are today's bytes
    assert hashlib.sha256(body).hexdigest() == CAPTURE_RUN_CSV_SHA256
