-- Ad observations seen on or after start_date and before the day after end_date (UTC).
SELECT o.observation_id,
       o.observer_id,
       o.platform,
       o.observed_at,
       o.rdo #>> '{observation,ad_format}' AS ad_format,
       jsonb_array_length(COALESCE(o.rdo -> 'media', '[]'::jsonb)) AS media_count
FROM observations o
WHERE o.observed_at >= %(start_date)s::date AT TIME ZONE 'UTC'
  AND o.observed_at < (%(end_date)s::date + 1) AT TIME ZONE 'UTC'
ORDER BY o.observed_at, o.observation_id
