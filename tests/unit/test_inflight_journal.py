"""The local supervisor's journal: an upload a checkpoint holds is not the dead process's to abort."""

from __future__ import annotations

import json
from pathlib import Path

from local.inflight import Journal


def test_an_upload_handed_to_a_checkpoint_leaves_the_journal_and_the_others_stay(tmp_path: Path) -> None:
    # GIVEN a process with the uploads of two exports open
    journal = Journal(tmp_path / "journal.json")
    journal.upload_started("exports", "outputs/alice_1111-aaaa_20261203.zip", "upload-1")
    journal.upload_started("exports", "outputs/bob_2222-bbbb_20261203.zip", "upload-2")

    # WHEN the first export's checkpoint is stored
    journal.handed_over("1111-aaaa")

    # THEN only the second upload would be aborted were the process to die now
    held = json.loads((tmp_path / "journal.json").read_text())
    assert held["uploads"] == [
        {"bucket": "exports", "key": "outputs/bob_2222-bbbb_20261203.zip", "upload_id": "upload-2"}
    ]
