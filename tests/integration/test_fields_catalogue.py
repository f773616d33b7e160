"""The field catalogue a container keeps: read once, then again when its copy is older than its maximum age."""

from __future__ import annotations

from exporter.adapters.postgres import Database, connect_url
from exporter.exports.fields import FieldsRepository

RENAME = "UPDATE exportable_fields SET description = %s WHERE path = 'observation.uuid'"


def description_of(fields: list, path: str) -> str:
    return next(f.description for f in fields if f.path == path)


def test_a_kept_catalogue_is_read_again_only_once_it_is_older_than_its_maximum_age(postgres, db) -> None:
    now = [1000.0]
    repository = FieldsRepository(Database(lambda: connect_url(postgres.url)), max_age_seconds=60, clock=lambda: now[0])
    with db.cursor() as cur:
        cur.execute("SELECT description FROM exportable_fields WHERE path = 'observation.uuid'")
        (original,) = cur.fetchone()
    first = repository.catalogue()
    assert description_of(first, "observation.uuid") == original
    try:
        # GIVEN the catalogue changes in the database after the container read it
        with db.cursor() as cur:
            cur.execute(RENAME, ("changed since",))
        # THEN within the maximum age the container still answers from its copy
        now[0] += 59
        assert repository.catalogue() == first
        # AND once its copy is older, it reads the catalogue again
        now[0] += 2
        assert description_of(repository.catalogue(), "observation.uuid") == "changed since"
    finally:
        with db.cursor() as cur:
            cur.execute(RENAME, (original,))


def test_without_a_maximum_age_every_call_reads_the_database(postgres, db) -> None:
    repository = FieldsRepository(Database(lambda: connect_url(postgres.url)))
    with db.cursor() as cur:
        cur.execute("SELECT description FROM exportable_fields WHERE path = 'observation.uuid'")
        (original,) = cur.fetchone()
    assert description_of(repository.catalogue(), "observation.uuid") == original
    try:
        with db.cursor() as cur:
            cur.execute(RENAME, ("changed since",))
        assert description_of(repository.catalogue(), "observation.uuid") == "changed since"
    finally:
        with db.cursor() as cur:
            cur.execute(RENAME, (original,))


def test_a_caller_changing_its_list_does_not_change_the_kept_catalogue(postgres) -> None:
    repository = FieldsRepository(Database(lambda: connect_url(postgres.url)), max_age_seconds=60)
    first = repository.catalogue()
    count = len(first)
    first.clear()
    assert len(repository.catalogue()) == count
