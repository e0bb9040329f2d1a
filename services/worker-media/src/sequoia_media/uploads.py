"""Direct uploads never completed: once past their expiry (UPLOAD_EXPIRY_SECONDS after they were
handed out, when their presigned URLs stop working too) the media worker's beat aborts their S3
multipart upload, which frees the parts S3 keeps (and bills) for an open upload, removes an object a
single PUT left, and forgets the upload. Every open multipart upload of the key is aborted, so one
the API started but could not record is caught too. Completed uploads are forgotten past their expiry."""

from __future__ import annotations

import logging

from psycopg_pool import ConnectionPool

from sequoia_core.db import direct_uploads
from sequoia_core.db.pool import transaction
from sequoia_core.errors import TransientError
from sequoia_core.storage import Storage

log = logging.getLogger(__name__)


def abort_expired_uploads(pool: ConnectionPool, storage: Storage, limit: int = 1000) -> int:
    """Abort up to `limit` expired uploads, one short transaction each; how many. S3 away: the rest
    wait for the next tick."""
    aborted = 0
    while aborted < limit:
        with transaction(pool) as conn:
            upload = direct_uploads.lock_next_expired(conn)
            if upload is None:
                break
            try:
                storage.abort_multipart(upload.key)
                storage.delete([upload.key])
            except TransientError as err:
                log.warning("abandoned upload %s not aborted yet, S3 does not answer: %s", upload.id, err)
                break
            direct_uploads.delete_upload(conn, upload.id)
        aborted += 1
    with transaction(pool) as conn:
        direct_uploads.prune_completed(conn, limit)
    if aborted:
        log.info("aborted %d direct upload(s) never completed", aborted)
    return aborted
