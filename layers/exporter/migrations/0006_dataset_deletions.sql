-- Archive-then-delete (datasets with a delete.sql): one row per job whose delete committed, written in the
-- same transaction as the delete, in the database the rows came from. A re-run of the job finds it and
-- completes the job with the object already uploaded instead of exporting (and deleting) again.
-- A dataset whose source is another database needs this table there too (docs/datasets.md).
CREATE TABLE IF NOT EXISTS dataset_deletions (
    export_id     uuid PRIMARY KEY,
    dataset       text NOT NULL,
    rows_exported bigint NOT NULL,
    rows_deleted  bigint NOT NULL,
    size_bytes    bigint NOT NULL,
    details       jsonb NOT NULL,
    deleted_at    timestamptz NOT NULL DEFAULT now()
);
