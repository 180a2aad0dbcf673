"""The hooks in ``<hooks dir>/connectivity.d/``: which ones run, and running them in order."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from diagnostics.host import Host

HOOKS_SUBDIR = "connectivity.d"
# The names run-parts accepts: editor backups and package-manager leftovers never run.
HOOK_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
HOOK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A hook writing more than this is stopped; the page and the API show the last part.
HOOK_OUTPUT_LIMIT = 1 << 20
HOOK_OUTPUT_SHOWN = 64 * 1024


@dataclass(frozen=True)
class HookRun:
    """One hook's run: ``status`` is the exit status, None when it timed out or did not start."""

    name: str
    mode: str
    status: int | None
    output: str
    duration: float
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 0 and not self.timed_out and self.error is None

    @property
    def outcome(self) -> str:
        """What happened, in the words shown on the page and in the audit log."""
        if self.error:
            return self.error + (" and was stopped" if self.timed_out else "")
        return f"exit status {self.status}"

    def to_dict(self) -> dict:
        """The API shape of a run."""
        return {"name": self.name, "mode": self.mode, "ok": self.ok, "exit_status": self.status,
                "timed_out": self.timed_out, "outcome": self.outcome, "output": self.output}


def hook_files(hooks_dir: str | Path) -> list[tuple[Path, bool]]:
    """Every file in ``connectivity.d`` in name order, with whether it runs as a hook.

    A hook runs when it is an executable file named like run-parts wants (letters, digits,
    ``_`` and ``-``); anything else is listed so the page can say it was skipped.
    """
    directory = Path(hooks_dir) / HOOKS_SUBDIR
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    files = []
    for name in names:
        path = directory / name
        files.append((path, bool(HOOK_NAME.match(name)) and path.is_file()
                      and os.access(path, os.X_OK)))
    return files


def runnable(hooks_dir: str | Path) -> list[Path]:
    """The hooks that run, in order."""
    return [path for path, runs in hook_files(hooks_dir) if runs]


def run_hooks(hooks_dir: str | Path, mode: str, previous: str, timeout: float,
              stop_on_failure: bool = True) -> list[HookRun]:
    """Run every hook for a change from ``previous`` to ``mode``; each within ``timeout``."""
    env = {"WEBUI_CONNECTIVITY_MODE": mode, "WEBUI_PREVIOUS_MODE": previous}
    runner = Host(path_env=HOOK_PATH, env=env)
    runs = []
    for path in runnable(hooks_dir):
        result = runner.run([str(path)], timeout=timeout, limit=HOOK_OUTPUT_LIMIT)
        output = "\n".join(part.strip() for part in (result.stdout, result.stderr) if part)
        run = HookRun(path.name, mode, result.returncode, output[-HOOK_OUTPUT_SHOWN:],
                      result.duration, timed_out=result.timed_out, error=result.error)
        runs.append(run)
        if not run.ok and stop_on_failure:
            break
    return runs
