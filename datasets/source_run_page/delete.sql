DELETE FROM ckb.source_run_page
