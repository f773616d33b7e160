-- Application sources (seed 001): the parts other services upload for an `applications` export.
-- One row per requested source; the export is assembled once every row has left `pending`.

CREATE TABLE sources (
    export_id   uuid NOT NULL REFERENCES exports (export_id) ON DELETE CASCADE,
    source_id   uuid NOT NULL,
    position    integer NOT NULL,
    application text NOT NULL,
    resource    text NOT NULL,
    filters     jsonb NOT NULL DEFAULT '{}'::jsonb,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'uploaded', 'failed')),
    message     text,
    error       text,
    s3_key      text,
    size_bytes  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (export_id, source_id),
    UNIQUE (export_id, position)
);

CREATE INDEX sources_pending_idx ON sources (created_at) WHERE status = 'pending';
CREATE INDEX sources_application_idx ON sources (application, export_id);

-- The right to assemble an export: the first caller to insert its row (once no source is pending) wins.
CREATE TABLE source_assemblies (
    export_id    uuid PRIMARY KEY REFERENCES exports (export_id) ON DELETE CASCADE,
    requested_at timestamptz NOT NULL DEFAULT now()
);
