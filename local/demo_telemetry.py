"""Demo conversation telemetry for the Sunbird data-exhaust datasets (``datasets/uci-*``, docs/sunbird.md).

A schema of its own, ``uci``, created here and never by the service's migrations: in a deployment
these tables belong to the database the telemetry lands in. ``telemetry`` holds one row per
question a bot sent and the user's reply; ``users`` one row per device, with a phone number only
where the user consented. Three bots on three channels, February to April 2022 (the seed's dates),
filled when empty.
"""

from __future__ import annotations

import psycopg2.extensions

# (conversation id, channel): the seed's two bots and a third
BOTS = (
    ("c63b6faa-11a9-4259-b941-11cd2f8446c6", "01309282781705830427"),
    ("d655cf03-1f6f-4510-acf6-d3f51b488a5e", "ORG_001"),
    ("5b4a2d3e-7f1c-4e2a-9d6b-0c8e1f2a3b4c", "01269878797503692810"),
)
DEVICES = 40
EVENTS_PER_BOT = 270  # one every 8 hours from 2022-02-01: February, March and April

TABLES = (
    """CREATE TABLE IF NOT EXISTS uci.users (
        device_id text PRIMARY KEY, user_name text NOT NULL, phone_number text,
        phone_consent boolean NOT NULL DEFAULT false)""",
    """CREATE TABLE IF NOT EXISTS uci.telemetry (
        event_id uuid PRIMARY KEY, conversation_id uuid NOT NULL, channel text NOT NULL,
        device_id text NOT NULL, question text NOT NULL, options jsonb, reply text,
        sent_at timestamptz NOT NULL, replied_at timestamptz NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS telemetry_by_bot ON uci.telemetry (conversation_id, replied_at)",
)

USERS = """
INSERT INTO uci.users (device_id, user_name, phone_number, phone_consent)
SELECT 'device-' || lpad(i::text, 4, '0'), 'User ' || i, '+91' || (9000000000 + i * 7919)::text, i %% 3 <> 0
FROM generate_series(1, %(devices)s) AS i
"""

TELEMETRY = """
INSERT INTO uci.telemetry (event_id, conversation_id, channel, device_id, question, options, reply, sent_at,
                           replied_at)
SELECT md5(%(bot)s || ':' || i)::uuid, %(bot)s::uuid, %(channel)s,
       'device-' || lpad((1 + (i * 7 + %(offset)s) %% %(devices)s)::text, 4, '0'),
       (ARRAY['What is your name?', 'Which class are you in?', 'Did you finish the lesson?',
              'How would you rate today''s session?'])[1 + i %% 4],
       CASE i %% 4 WHEN 1 THEN '["6", "7", "8", "9"]'::jsonb WHEN 2 THEN '["Yes", "No"]'::jsonb
                   WHEN 3 THEN '["1", "2", "3", "4", "5"]'::jsonb END,
       (ARRAY['Asha', '7', 'Yes', '4'])[1 + i %% 4],
       timestamptz '2022-02-01 00:00:00+00' + i * interval '8 hours',
       timestamptz '2022-02-01 00:00:00+00' + i * interval '8 hours' + (30 + i %% 90) * interval '1 second'
FROM generate_series(0, %(events)s - 1) AS i
"""


def seed_telemetry(conn: psycopg2.extensions.connection) -> dict[str, int]:
    """Create the ``uci`` tables if needed and fill each empty one; rows inserted per table."""
    inserted: dict[str, int] = {}
    with conn.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS uci")
        for ddl in TABLES:
            cur.execute(ddl)
        cur.execute("SELECT NOT EXISTS (SELECT 1 FROM uci.users)")
        if (cur.fetchone() or (False,))[0]:
            cur.execute(USERS, {"devices": DEVICES})
            inserted["users"] = cur.rowcount
        cur.execute("SELECT NOT EXISTS (SELECT 1 FROM uci.telemetry)")
        if (cur.fetchone() or (False,))[0]:
            total = 0
            for offset, (bot, channel) in enumerate(BOTS):
                params = {
                    "bot": bot,
                    "channel": channel,
                    "offset": offset,
                    "devices": DEVICES,
                    "events": EVENTS_PER_BOT,
                }
                cur.execute(TELEMETRY, params)
                total += cur.rowcount
            inserted["telemetry"] = total
    return inserted
