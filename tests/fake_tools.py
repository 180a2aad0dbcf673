"""Stand-ins for the host's tools: executables that record their arguments, or fail, found
first (and alone) on PATH, so no test can reach the real ones."""

from __future__ import annotations

from pathlib import Path

RECORDER = """#!/bin/sh
for arg in "${{0##*/}}" "$@"; do printf '%s\\n' "$arg"; done >> {log}
echo "<end of command>" >> {log}
"""
END = "<end of command>"


def failing(message: str, status: int) -> str:
    """A tool that prints ``message`` (and a second line) to stderr and exits with ``status``."""
    return f'#!/bin/sh\necho "{message}" >&2\necho "second line" >&2\nexit {status}\n'


def install(directory: Path, log: Path, names: tuple[str, ...]) -> None:
    """Recording tools called ``names`` in ``directory``, writing to ``log``."""
    directory.mkdir()
    for name in names:
        (directory / name).write_text(RECORDER.format(log=log))
        (directory / name).chmod(0o755)


def commands(log: Path) -> list[list[str]]:
    """Each recorded command as its argument list, the program's name first."""
    if not log.exists():
        return []
    found, current = [], []
    for line in log.read_text().splitlines():
        if line == END:
            found.append(current)
            current = []
        else:
            current.append(line)
    return found
