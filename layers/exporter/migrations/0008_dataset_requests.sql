-- Sunbird data-exhaust requests (docs/sunbird.md): one row per request identity (its requestId), pointing at
-- the dataset export that runs it. A request waiting for its dataset's batch run has no export yet.
-- A failed request submitted again gets a new export and one more attempt. No encryption key is ever stored.
CREATE TABLE IF NOT EXISTS dataset_requests (
    request_id        text PRIMARY KEY CHECK (request_id ~ '^[0-9A-F]{32}$'),
    tag               text NOT NULL, -- as the client sent it; answered as {tag}:{requested_channel}
    requested_channel text NOT NULL,
    dataset           text NOT NULL,
    requested_by      text NOT NULL,
    dataset_config    jsonb NOT NULL,
    export_id         uuid REFERENCES exports (export_id) ON DELETE SET NULL,
    attempts          integer NOT NULL DEFAULT 0,
    waiting           boolean NOT NULL DEFAULT false,
    submitted_at      timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS dataset_requests_by_tag ON dataset_requests (tag, submitted_at DESC);
CREATE INDEX IF NOT EXISTS dataset_requests_waiting ON dataset_requests (dataset) WHERE waiting;
