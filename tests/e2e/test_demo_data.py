"""The demo dataset a developer finds in a fresh local stack."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from local.demo_data import build_observations, is_missing

pytestmark = pytest.mark.e2e

CATALOGUE_ROOTS = ("observer", "observation", "media", "attributes", "tags", "classifications")


def test_the_demo_dataset_has_hundreds_of_ads_from_many_observers(database):
    # WHEN the observations table of a fresh stack is counted
    with database.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT observer_id), array_agg(DISTINCT platform) FROM observations")
        observations, observers, platforms = cur.fetchone()

    # THEN there are enough ads and observers to try real queries, on every platform
    assert observations >= 500
    assert observers >= 20
    assert set(platforms) == {"FACEBOOK", "INSTAGRAM", "TIKTOK", "YOUTUBE"}


def test_the_ads_span_2025_and_2026(database):
    with database.cursor() as cur:
        cur.execute("SELECT DISTINCT extract(year FROM observed_at AT TIME ZONE 'UTC')::int FROM observations")
        years = {row[0] for row in cur.fetchall()}
    assert years == {2025, 2026}


def test_every_document_has_data_for_every_catalogue_field(database):
    # WHEN every stored document is read
    with database.cursor() as cur:
        cur.execute("SELECT observation_id, observer_id, platform, observed_at, rdo FROM observations")
        rows = cur.fetchall()

    # THEN each has the sample RDO's shape plus researchers' attributes, tags and classifications,
    # and its indexed columns agree with the document
    for observation_id, observer_id, platform, observed_at, rdo in rows:
        assert all(rdo.get(root) not in (None, [], {}) for root in CATALOGUE_ROOTS), observation_id
        observation = rdo["observation"]
        assert observation["uuid"] == observation_id
        assert rdo["observer"]["uuid"] == observer_id
        assert observation["platform"] == platform
        assert observed_at == datetime.fromtimestamp(observation["observed_on_device_at"], tz=UTC)
        assert isinstance(rdo["attributes"]["starred"]["value"], bool)
        assert all({"label", "score"} <= set(c) for c in rdo["classifications"])
        assert all(kf["ocr_data"] and kf["frame"] in rdo["media"] for kf in observation["keyframes"])


def test_the_demo_data_is_the_same_on_every_run(database):
    # GIVEN the documents the generator makes today
    built = {doc["observation"]["uuid"] for doc in build_observations()}

    # THEN they are exactly the ones the stack stored
    with database.cursor() as cur:
        cur.execute("SELECT observation_id FROM observations")
        stored = {row[0] for row in cur.fetchall()}
    assert stored == built


def test_media_keys_are_real_jpegs_in_the_source_bucket_except_the_deliberately_missing(stack, database):
    # GIVEN the source bucket of the stack
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.info["aws_endpoint_url"],
        region_name=stack.info["aws_region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with database.cursor() as cur:
        cur.execute("SELECT rdo->'media' FROM observations ORDER BY observation_id LIMIT 200")
        keys = [key for (media,) in cur.fetchall() for key in media]

    # WHEN the media keys of some ads are fetched
    listed = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.info["source_bucket"]):
        listed.update(item["Key"] for item in page.get("Contents", []))

    # THEN every key is there but the few left out on purpose, and each is a small JPEG
    assert {key for key in keys if not is_missing(key)} <= listed
    assert not {key for key in keys if is_missing(key)} & listed
    body = s3.get_object(Bucket=stack.info["source_bucket"], Key=next(k for k in keys if k in listed))["Body"].read()
    assert body[:3] == b"\xff\xd8\xff"
    assert 500 < len(body) < 20_000
