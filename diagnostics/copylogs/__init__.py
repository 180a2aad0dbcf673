"""Copy and upload logs of the device: discovery, safe parsing, indexing, paging (SPEC F6).

Formats are those of ``shared/reference/copy-logs.md``: per-share Upload/Refresh error logs,
service copy logs (``ErroredEntity`` + ``CopyLog`` summary) and copy-time ``error.xml`` lists.
Web-free: the Flask views use :class:`CopyLogStore` and :mod:`.reference`.
"""

from diagnostics.copylogs import reference
from diagnostics.copylogs.models import CopyLog, CopyLogError, Entry, Page
from diagnostics.copylogs.store import CopyLogStore, discover

__all__ = ["CopyLog", "CopyLogError", "CopyLogStore", "Entry", "Page", "discover", "reference"]
