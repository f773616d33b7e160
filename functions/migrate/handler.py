"""Apply the schema migrations shipped in the layer. Run by a CDK trigger during deploy.

It connects to the instance directly, not through the RDS Proxy: the migrator holds a session
advisory lock and runs DDL, which would pin a proxy connection anyway, and it is one short
connection per deploy. Any exception fails the invocation, the trigger, and so the deploy.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters

from exporter.adapters.postgres import apply_migrations, connect_secret
from exporter.settings import DatabaseSettings, load

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list[str]]:
    settings = load(DatabaseSettings, os.environ)
    if settings.DATABASE_SECRET_ARN is None:
        raise RuntimeError("DATABASE_SECRET_ARN is not set")
    secret = parameters.get_secret(settings.DATABASE_SECRET_ARN)
    conn = connect_secret(secret)
    try:
        applied = apply_migrations(conn)
    finally:
        conn.close()
    logger.info("migrations applied", extra={"applied": applied})
    return {"applied": applied}
