COPY (SELECT id, agency_id, url, status, updated_at FROM ckb.source ORDER BY id) TO STDOUT WITH CSV HEADER
