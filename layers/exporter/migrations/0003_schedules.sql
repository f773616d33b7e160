-- Schedules (EventBridge Scheduler schedules that create export jobs) and their runs.
-- A run is one fire time of one schedule: the primary key makes a second delivery of the
-- same fire a no-op, so a fire time produces at most one export.

CREATE TABLE schedules (
    schedule_id uuid PRIMARY KEY,
    owner_id    text NOT NULL CHECK (length(owner_id) BETWEEN 1 AND 256),
    owner       jsonb NOT NULL,  -- the caller at creation (user id, groups): who the runs are made as
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    target      jsonb NOT NULL,
    expression  text NOT NULL,
    timezone    text NOT NULL DEFAULT 'UTC',
    enabled     boolean NOT NULL DEFAULT true,
    anchor_at   timestamptz NOT NULL DEFAULT now(),  -- when the expression was last set: rate() counts from it
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner_id, name)
);

CREATE INDEX schedules_created_idx ON schedules (created_at DESC, schedule_id DESC);

CREATE TABLE schedule_runs (
    schedule_id uuid NOT NULL REFERENCES schedules (schedule_id) ON DELETE CASCADE,
    fire_time   timestamptz NOT NULL,
    state       text NOT NULL DEFAULT 'started' CHECK (state IN ('started', 'created', 'failed')),
    export_id   uuid,  -- no foreign key: the run keeps the id after the export expires or is deleted
    message     text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, fire_time)
);
