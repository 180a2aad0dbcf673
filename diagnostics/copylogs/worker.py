"""A worker process that counts ranges of one log for a parallel index build.

Run as ``python -m diagnostics.copylogs.worker``; reads one JSON job on stdin
(``{"root", "path", "format", "ranges": [[start, end, final], …], "spill"}``) and writes one
JSON line per range, in order, with that range's block counts; the range's path columns are
appended to the file ``spill`` (when not null), and the line says where (``columns_at``,
``columns_length``). It opens the log itself, inside its root.
"""

from __future__ import annotations

import json
import os
import sys

from diagnostics.copylogs.discovery import open_in_root
from diagnostics.copylogs.formats import FORMATS
from diagnostics.copylogs.index import count_segment, write_all


def main() -> int:
    job = json.loads(sys.stdin.readline())
    fd = open_in_root(job["root"], job["path"])
    spill = os.open(job["spill"], os.O_WRONLY | os.O_APPEND) if job.get("spill") else -1
    at = 0
    try:
        for start, end, final in job["ranges"]:
            segment = count_segment(FORMATS[job["format"]], fd, start, end, final)
            if spill >= 0:
                write_all(spill, segment.columns)
            answer = {"end": segment.end, "blocks": segment.blocks,
                      "problems": segment.problems, "truncated": segment.truncated,
                      "columns_at": at, "columns_length": len(segment.columns)}
            at += len(segment.columns)
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    finally:
        os.close(fd)
        if spill >= 0:
            os.close(spill)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
