COPY (
    SELECT id, source_id, file_name, mime_type, size_bytes, processing_status, created_at
    FROM ckb.source_file
    ORDER BY id
) TO STDOUT WITH CSV HEADER
