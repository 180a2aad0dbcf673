"""Copy and upload logs of the device: discovery, safe parsing, indexing, paging (SPEC F6).

Formats are those of ``shared/reference/copy-logs.md``: per-share Upload/Refresh error logs,
service copy logs (``ErroredEntity`` + ``CopyLog`` summary) and copy-time ``error.xml`` lists.
Web-free: the Flask views use :class:`CopyLogStore` and :mod:`.reference`.

Typical use by the app (one store per process)::

    store = CopyLogStore(roots, f"{instance}/copylog-index")
    logs = store.list()                       # rows of GET /api/v1/copylogs (to_dict())
    store.ensure_index(log_id)                # from a background job
    page = store.entries(log_id, page=1, per_page=100, category=None, code="409", q=None)
    store.index_status(log_id)                # {state, indexed_bytes, size, entries, ...}
    for entry in store.iter_entries(log_id, code="409"): ...   # CSV export, streamed
    with store.open_original(log_id) as stream: ...            # download

Pages never wait for the index; counts by category and code appear once it is complete.
"""

from diagnostics.copylogs import reference
from diagnostics.copylogs.models import CopyLog, CopyLogError, Entry, Page
from diagnostics.copylogs.store import CopyLogStore, discover

__all__ = ["CopyLog", "CopyLogError", "CopyLogStore", "Entry", "Page", "discover", "reference"]
