COPY (SELECT id, source_id, run_id, page_url, http_status, scraped_at FROM ckb.source_run_page ORDER BY id) TO STDOUT WITH CSV HEADER
