"""An encrypted dataset file: the CSV PostgreSQL writes, in a ZIP encrypted with AES-256 under the requester's key.

The key travels only in the job's queue message (``DatasetMessage.encryption_key``): the row, its
details and its messages never hold it. ``exporter.datasets.worker.DatasetWorker`` hands it to the body for the one
attempt the message runs; a retry's message is a copy of it. A message rebuilt from the row (the
sweeper's resend of a lost message) has no key: that attempt fails, saying to submit again.
"""

from __future__ import annotations

import shutil
import tempfile
from contextvars import ContextVar
from typing import IO

import pyzipper
from pydantic import SecretStr

from ..errors import ExportError
from ..jobs.kind import Sink

# The key of the attempt this worker is running, set from its message for that attempt only.
ENCRYPTION_KEY: ContextVar[SecretStr | None] = ContextVar("dataset_encryption_key", default=None)
_CHUNK = 256 * 1024


class KeyUnavailable(ExportError):
    """An encrypted dataset's attempt arrived without its key (the message was rebuilt from the row)."""


def current_key() -> SecretStr:
    key = ENCRYPTION_KEY.get()
    if key is None or not key.get_secret_value():
        raise KeyUnavailable("the encryption key is no longer held for this request; submit the request again")
    return key


def write_encrypted_zip(csv_file: IO[bytes], sink: Sink, *, key: SecretStr, entry_name: str) -> None:
    """``csv_file`` (read from its start) as ``entry_name`` in a WinZip AES-256 ZIP, streamed into ``sink``.

    The ZIP is built in a temporary file (the writer seeks back to each entry's header), then copied.
    """
    with tempfile.TemporaryFile() as archive:
        with pyzipper.AESZipFile(archive, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as zf:
            zf.setpassword(key.get_secret_value().encode("utf-8"))
            zf.setencryption(pyzipper.WZ_AES, nbits=256)
            with zf.open(entry_name, "w", force_zip64=True) as entry:
                shutil.copyfileobj(csv_file, entry, _CHUNK)
        archive.seek(0)
        while block := archive.read(_CHUNK):
            sink.write(block)
