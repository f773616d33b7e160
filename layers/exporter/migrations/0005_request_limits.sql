-- Per-user request limits, kept where every API container can see them: the jobs database.
--
-- idempotency_keys: one row per (user, Idempotency-Key) for 24 hours. The primary key makes a
-- second request with the same key, even at the same moment, find the first one's row instead of
-- creating a second job. A row is 'creating' (export_id NULL) while its job is written.
CREATE TABLE idempotency_keys (
    user_id         text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 256),
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    fingerprint     text NOT NULL,  -- sha256 of the operation and its canonical JSON body
    export_id       uuid,           -- no foreign key: the key outlives a deleted export
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);

-- request_counts: how many requests a user made in one minute (window_start), upserted atomically.
CREATE TABLE request_counts (
    user_id      text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 256),
    window_start timestamptz NOT NULL,
    requests     integer NOT NULL,
    PRIMARY KEY (user_id, window_start)
);

-- What the active-jobs limit counts: a user's pending and processing jobs.
CREATE INDEX exports_active_idx ON exports (creator_id) WHERE status IN ('pending', 'processing');
