-- Opt-in e-mail when a job completes or fails (a request's "notify": true): the caller's address,
-- from their token's email claim at request time. Only that e-mail reads it; it is in no event,
-- queue message or API answer, and it goes with the job.
ALTER TABLE exports ADD COLUMN notify_email text CHECK (length(notify_email) BETWEEN 3 AND 320);
