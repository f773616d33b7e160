-- Export jobs, sharing and the field catalogue (seed 003), extended with the job model of
-- DESIGN.md: kind, dataset, immutable parameters, attempts, progress, artefact, lease.

CREATE TABLE exportable_fields (
    field_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    description text NOT NULL,
    path        text NOT NULL UNIQUE,
    is_default  boolean NOT NULL DEFAULT false,
    position    integer NOT NULL UNIQUE
);

CREATE TABLE exports (
    export_id        uuid PRIMARY KEY,
    creator_id       text NOT NULL CHECK (length(creator_id) BETWEEN 1 AND 256),
    kind             text NOT NULL DEFAULT 'query'
                     CHECK (kind IN ('query', 'capture', 'applications', 'dataset')),
    dataset          text NOT NULL DEFAULT 'observations',
    parameters       jsonb NOT NULL,
    include_images   boolean NOT NULL DEFAULT false,
    query_string     text,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    attempt          integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_retries      integer NOT NULL DEFAULT 3 CHECK (max_retries >= 0),
    rows_written     bigint NOT NULL DEFAULT 0,
    rows_total       bigint,
    s3_key           text,
    size_bytes       bigint,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    message          text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz,
    expires_at       timestamptz,
    lease_owner      text,
    lease_expires_at timestamptz
);

CREATE INDEX exports_creator_idx ON exports (creator_id, created_at DESC, export_id DESC);
CREATE INDEX exports_lease_idx ON exports (lease_expires_at) WHERE status = 'processing';
CREATE INDEX exports_pending_idx ON exports (updated_at) WHERE status = 'pending';

-- Export parameters are immutable once written.
CREATE FUNCTION exports_parameters_immutable() RETURNS trigger AS $$
BEGIN
    IF NEW.parameters IS DISTINCT FROM OLD.parameters
       OR NEW.creator_id IS DISTINCT FROM OLD.creator_id THEN
        RAISE EXCEPTION 'export parameters and creator are immutable';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER exports_parameters_immutable
    BEFORE UPDATE ON exports
    FOR EACH ROW EXECUTE FUNCTION exports_parameters_immutable();

CREATE TABLE shared_exports (
    export_id uuid NOT NULL REFERENCES exports (export_id) ON DELETE CASCADE,
    user_id   text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 256),
    shared_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (export_id, user_id)
);

CREATE INDEX shared_exports_user_idx ON shared_exports (user_id, export_id);

CREATE TABLE export_fields (
    export_id uuid NOT NULL REFERENCES exports (export_id) ON DELETE CASCADE,
    field_id  uuid NOT NULL REFERENCES exportable_fields (field_id),
    position  integer NOT NULL,
    PRIMARY KEY (export_id, field_id)
);

CREATE INDEX export_fields_field_idx ON export_fields (field_id);

-- The observations dataset: the RDO as jsonb plus indexed columns for the query methods.
CREATE TABLE observations (
    observation_id text PRIMARY KEY,
    observer_id    text NOT NULL,
    platform       text NOT NULL,
    observed_at    timestamptz NOT NULL,
    rdo            jsonb NOT NULL
);

CREATE INDEX observations_observer_idx ON observations (observer_id);
CREATE INDEX observations_platform_idx ON observations (platform, observed_at);
CREATE INDEX observations_observed_at_idx ON observations (observed_at, observation_id);
