"""PostgreSQL connections and migrations.

One connection per container, created lazily and re-created when the server dropped it.
Migrations are the numbered SQL files beside this module, applied in order, each once,
under an advisory lock so concurrent deploys or test workers never apply one twice.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from ..settings import DatabaseSettings

MIGRATIONS_PACKAGE = "exporter.migrations"
_MIGRATION_LOCK = 7_146_221  # advisory lock key shared by every migrator

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def connect_url(url: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(url, connect_timeout=10, application_name="export-service")
    conn.autocommit = True
    return conn


def connect_secret(secret: str | dict[str, Any], host: str | None = None) -> psycopg2.extensions.connection:
    """Connect with an RDS-shaped secret (host, port, username, password, dbname)."""
    values = json.loads(secret) if isinstance(secret, str) else secret
    conn = psycopg2.connect(
        host=host or values["host"],
        port=int(values.get("port", 5432)),
        user=values["username"],
        password=values["password"],
        dbname=values.get("dbname", "postgres"),
        connect_timeout=10,
        sslmode="require",
        application_name="export-service",
    )
    conn.autocommit = True
    return conn


def is_storable_text(text: str) -> bool:
    """True when PostgreSQL can store ``text`` in a text or jsonb column: valid UTF-8, no NUL."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Database:
    """A lazily opened connection, reused across invocations of one container."""

    def __init__(self, connect: Callable[[], psycopg2.extensions.connection]) -> None:
        self._connect = connect
        self._conn: psycopg2.extensions.connection | None = None

    def connection(self) -> psycopg2.extensions.connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def cursor(self, cursor_factory: Any = None) -> Iterator[psycopg2.extensions.cursor]:
        conn = self.connection()
        try:
            with conn.cursor(cursor_factory=cursor_factory) as cur:
                yield cur
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            # The server went away: drop the connection so the next call reconnects.
            conn.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor inside one transaction: committed on success, rolled back on error."""
        conn = self.connection()
        conn.autocommit = False
        try:
            with conn.cursor() as cur:
                yield cur
            conn.commit()
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        finally:
            if not conn.closed:
                conn.autocommit = True

    def run(self, statements: Sequence[tuple[str, Any]], *, cursor_factory: Any = None) -> list[Any]:
        """Run ``statements`` in one transaction; the rows of the last one (empty if it returns none).

        A connection the server dropped while it sat idle (a restart, a failover) fails on first
        use: then the statements run once more on a new connection, so the caller never sees it.
        """
        for attempt in (1, 2):
            reused = self._conn is not None and not self._conn.closed
            conn = self.connection()
            try:
                return _run_in_transaction(conn, statements, cursor_factory)
            except _DISCONNECTED:
                self.close()
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            with contextlib.suppress(psycopg2.Error):
                self._conn.close()


_DISCONNECTED = (psycopg2.OperationalError, psycopg2.InterfaceError)


def _run_in_transaction(
    conn: psycopg2.extensions.connection, statements: Sequence[tuple[str, Any]], cursor_factory: Any
) -> list[Any]:
    single = len(statements) == 1
    conn.autocommit = single
    try:
        with conn.cursor(cursor_factory=cursor_factory) as cur:
            for sql, params in statements:
                cur.execute(sql, params)
            rows = cur.fetchall() if cur.description is not None else []
        if not single:
            conn.commit()
        return rows
    except BaseException:
        if not conn.closed and not single:
            with contextlib.suppress(psycopg2.Error):
                conn.rollback()
        raise
    finally:
        if not conn.closed:
            conn.autocommit = True


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every migration, in order."""
    folder = resources.files(MIGRATIONS_PACKAGE)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text("utf-8")) for name in names]


def apply_migrations(conn: psycopg2.extensions.connection) -> list[str]:
    """Apply every migration not yet applied; return the versions applied now."""
    applied_now: list[str] = []
    previous_autocommit = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            cur.execute(_CREATE_LEDGER)
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for version, sql in migration_files():
                if version in done:
                    continue
                cur.execute(sql)
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied_now.append(version)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = previous_autocommit
    return applied_now


def database(settings: DatabaseSettings) -> Database:
    """A lazily connected database from ``DATABASE_URL`` or the RDS secret."""
    if settings.DATABASE_URL:
        url = settings.DATABASE_URL
        return Database(lambda: connect_url(url))
    arn, host = settings.DATABASE_SECRET_ARN, settings.DATABASE_HOST

    def connect() -> psycopg2.extensions.connection:
        from aws_lambda_powertools.utilities import parameters

        secret = parameters.get_secret(arn, max_age=300)  # type: ignore[arg-type]
        return connect_secret(secret, host=host)

    return Database(connect)
