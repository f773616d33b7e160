DELETE FROM ckb.source_run_report
