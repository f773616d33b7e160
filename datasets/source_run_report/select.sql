COPY (SELECT id, source_id, run_id, pages, errors, report, created_at FROM ckb.source_run_report ORDER BY id) TO STDOUT WITH CSV HEADER
