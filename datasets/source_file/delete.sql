DELETE FROM ckb.source_file
