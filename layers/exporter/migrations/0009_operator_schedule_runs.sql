-- Runs of operator schedules: the [schedule] of a dataset.toml, made by the CDK app, with no
-- row in schedules. As for schedule_runs, the primary key (dataset, fire time) makes a second
-- delivery of the same fire a no-op, so a fire time produces at most one export.

CREATE TABLE operator_schedule_runs (
    dataset     text NOT NULL CHECK (length(dataset) BETWEEN 1 AND 128),
    fire_time   timestamptz NOT NULL,
    state       text NOT NULL DEFAULT 'started' CHECK (state IN ('started', 'created', 'failed')),
    export_id   uuid,
    message     text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, fire_time)
);
