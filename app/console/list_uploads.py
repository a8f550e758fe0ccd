"""An official-list file uploaded in the console, and the token that ties its confirmation to its dry run.

An import is two steps (LG-LIST-1, SZ-LIST-1): the upload is first only a dry run, whose page
shows what would happen and carries the file back in a confirmation form. That form holds a
token, an HMAC under the CSRF key over the session's nonce and the file's name, bytes and
reason: the import applies only for the exact file (and reason) the reviewer saw in the dry
run, in the same session. Nothing here writes; :class:`workflow.listings.Listings` does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from starlette.datastructures import UploadFile

from app.console.sessions import Session
from app.console.web import Posted
from app.keys import ConsoleKeys
from app.parsing import same
from workflow.errors import InvalidInput

MAX_BYTES = 512 * 1024
"""The largest file taken (its base64 travels back in a form field: Starlette allows 1 MiB per field)."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A list file as staff sent it, with the reason they gave."""

    name: str
    content: bytes
    reason: str

    def encoded(self) -> str:
        return base64.b64encode(self.content).decode()

    def token(self, session: Session, keys: ConsoleKeys) -> str:
        """What the confirmation form carries: valid only for this file and reason in this session."""
        digest = hashlib.sha256(self.name.encode() + b"\0" + self.content + b"\0" + self.reason.encode()).hexdigest()
        return hmac.new(keys.csrf, f"list-import:{session.nonce}:{digest}".encode(), hashlib.sha256).hexdigest()


def uploaded(posted: Posted) -> Upload:
    """The file of a first (dry-run) post; :class:`InvalidInput` naming ``file`` when there is none or too much."""
    item = posted.form.get("file")
    if not isinstance(item, UploadFile) or not item.filename:
        raise InvalidInput("choose a .csv or .xlsx file", field="file")
    try:
        content = item.file.read(MAX_BYTES + 1)
    finally:
        item.file.close()
    if not content:
        raise InvalidInput(f"{item.filename} is empty", field="file")
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"{item.filename} is larger than {MAX_BYTES // 1024} KiB: split it", field="file")
    return Upload(item.filename[:200], content, posted.text("reason"))


def confirmed(posted: Posted, keys: ConsoleKeys) -> Upload:
    """The file a confirmation post carries back, if its token is the dry run's; else ``confirm_token`` is named."""
    try:
        content = base64.b64decode(posted.text("content"), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the file carried back is not base64: run the dry run again", field="content") from None
    upload = Upload(posted.text("file_name"), content, posted.text("reason"))
    if not content or len(content) > MAX_BYTES or not same(upload.token(posted.session, keys), posted.text("token")):
        raise InvalidInput(
            "this confirmation does not match a dry run of this file and reason: run the dry run again",
            field="confirm_token",
        )
    return upload
