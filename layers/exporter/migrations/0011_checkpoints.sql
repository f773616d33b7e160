-- A job that runs longer than one function run checkpoints: the open multipart upload (its id and
-- the parts done), the body's state (how far it got) and the keys of what it kept in the exports
-- bucket under checkpoints/. The next run of the same attempt goes on from there. Cleared when the
-- attempt ends (completed, failed or retried from the start); kept when a run is lost mid-way.
ALTER TABLE exports ADD COLUMN checkpoint jsonb;
