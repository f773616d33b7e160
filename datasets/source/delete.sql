DELETE FROM ckb.source
