-- The state-change events published for each job (Export Completed, Export Failed, Export Expired):
-- a row is the claim to publish one event once; it goes with the job.
CREATE TABLE job_events (
    export_id    uuid NOT NULL REFERENCES exports (export_id) ON DELETE CASCADE,
    event        text NOT NULL CHECK (event IN ('Export Completed', 'Export Failed', 'Export Expired')),
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (export_id, event)
);
