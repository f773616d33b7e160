COPY (SELECT id, name, country, website, created_at FROM ckb.agency ORDER BY id) TO STDOUT WITH CSV HEADER
