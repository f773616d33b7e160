DELETE FROM ckb.agency
