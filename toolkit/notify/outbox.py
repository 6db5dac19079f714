"""The outbox: each mail written as an ``.eml`` file instead of being sent (``[mail] transport
= "outbox"``, the default), so the toolkit works before any mail server is set up.

The outbox is a channel of its own in the ledger (``outbox``): what was written here does not
count as mailed, so switching ``transport`` to "smtp" mails the current items once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from ..fsutil import atomic_write_bytes, ensure_folder, os_reason, sanitize_filename
from ..i18n import Messages, translate
from .message import Permanent

TEXT: Messages = {
    "err.outbox": {
        "zh": "无法写入发件箱文件夹 {path}（{why}）：请检查 [mail].outbox_dir 的位置和写入权限",
        "en": "cannot write into the outbox folder {path} ({why}); check [mail].outbox_dir and its "
              "permissions"},
}


class OutboxTransport:
    """Writes each message as ``<YYYYMMDD-HHMMSS>_<recipient>_<hash>.eml`` into the outbox."""

    def __init__(self, folder: Path, now: dt.datetime, language: str) -> None:
        self.folder = folder
        self.now = now
        self.language = language
        self.written: list[Path] = []

    @property
    def connected(self) -> bool:
        return True

    def open(self) -> None:
        ensure_folder(self.folder, self.language)  # OutputError: the run cannot send anything

    def send(self, sender: str, recipients: list[str], data: bytes, label: str) -> dict[str, str]:
        digest = hashlib.sha256(data).hexdigest()[:8]
        name = sanitize_filename(f"{self.now:%Y%m%d-%H%M%S}_{label}_{digest}.eml")
        path = self.folder / name
        try:
            # Durable: the ledger records this mail as sent right after; the file must outlive a power cut.
            atomic_write_bytes(path, data, durable=True)
        except OSError as exc:
            raise Permanent(translate(TEXT, "err.outbox", self.language, path=self.folder,
                                       why=os_reason(exc, self.language))) from exc
        self.written.append(path)
        return {}

    def reconnect(self) -> None:
        pass

    def close(self) -> None:
        pass



