"""What a job keeps between its runs, in the exports bucket under ``checkpoints/``, and how it goes.

The lifecycle (:mod:`exporter.jobs.lifecycle`) stores a checkpoint when a body suspends; this
module holds what the API needs too: a job deleted between two runs leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from ..adapters.ports import ObjectStore

logger = Logger(child=True)

CHECKPOINTS_PREFIX = "checkpoints/"


def delete_kept(store: ObjectStore, keys: list[str]) -> None:
    """Delete what a job kept; one that cannot be deleted now is logged and left to the bucket's rule."""
    for key in keys:
        try:
            store.delete(key)
        except Exception:  # the bucket's lifecycle rule removes it later
            logger.warning("a checkpoint object could not be deleted", extra={"key": key})


def abandon_checkpoint(store: ObjectStore, checkpoint: dict[str, Any] | None) -> None:
    """A job deleted between its runs: the upload its checkpoint holds is aborted and what it kept goes."""
    if not checkpoint:
        return
    sink = checkpoint["sink"]
    store.abort_upload(str(sink["key"]), str(sink["upload_id"]))
    delete_kept(store, list(checkpoint["kept"]))  # the tail is one of them
