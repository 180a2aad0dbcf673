"""A worker process that counts ranges of one log for a parallel index build.

Run as ``python -m diagnostics.copylogs.worker``; reads one JSON job on stdin
(``{"root", "path", "format", "ranges": [[start, end, final], …]}``) and writes one JSON line
per range, in order, with that range's block counts. It opens the file itself, inside its root.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

from diagnostics.copylogs.discovery import open_in_root
from diagnostics.copylogs.formats import FORMATS
from diagnostics.copylogs.index import count_segment


def main() -> int:
    job = json.loads(sys.stdin.readline())
    fd = open_in_root(job["root"], job["path"])
    try:
        for start, end, final in job["ranges"]:
            segment = count_segment(FORMATS[job["format"]], fd, start, end, final)
            sys.stdout.write(json.dumps(dataclasses.asdict(segment)) + "\n")
            sys.stdout.flush()
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
