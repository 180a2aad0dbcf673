"""A command runner that streams output instead of holding it.

:meth:`diagnostics.host.Host.run` keeps a command's whole output in memory, which is right for
probes and wrong for a 1 GB journal. :func:`stream_command` yields stdout in chunks as it comes,
stops the command (with its process group) at the deadline or the byte cap, and keeps either the
head or the tail of what it printed.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from diagnostics.host import Host

CHUNK = 1 << 20
STDERR_LIMIT = 4096


@dataclass
class CommandOutcome:
    """What a streamed command did; filled in while its output is consumed."""

    returncode: int | None = None
    timed_out: bool = False
    truncated: bool = False
    missing: bool = False
    error: str | None = None
    stderr: bytes = b""
    output_bytes: int = 0
    started: float = field(default_factory=time.monotonic)
    duration: float = 0.0


class Cancelled(Exception):
    """The caller asked to stop while a command was running."""


def stream_command(host: Host, argv: tuple[str, ...], outcome: CommandOutcome, *,
                   timeout: float, limit: int | None, keep: str = "head",
                   should_stop: Callable[[], bool] | None = None) -> Iterator[bytes]:
    """Yield the stdout of ``argv`` run with ``host``'s PATH; fill ``outcome`` as it goes.

    At most ``limit`` bytes come out (``None``: no cap): with ``keep="head"`` the command is
    stopped once the cap is reached; with ``keep="tail"`` it runs to the end and only the last
    ``limit`` bytes are kept (in memory, so tail caps stay modest). The command is killed with its
    process group at ``timeout`` seconds, and when ``should_stop`` returns True (then
    :class:`Cancelled` is raised).
    """
    exe = host.which(argv[0]) if "/" not in argv[0] else argv[0]
    if exe is None:
        outcome.missing = True
        outcome.error = f"{argv[0]} is not installed"
        return
    env = {"PATH": host.path_env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "SYSTEMD_PAGER": "",
           **host.env}
    try:
        proc = subprocess.Popen((exe, *argv[1:]), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
    except OSError as exc:
        outcome.error = f"{argv[0]}: {exc.strerror or exc}"
        return
    deadline = outcome.started + timeout
    tail: deque[bytes] = deque()
    tail_size = 0
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            selector.register(proc.stderr, selectors.EVENT_READ)
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    outcome.timed_out = True
                    outcome.error = f"timed out after {timeout:g} s"
                    break
                if should_stop is not None and should_stop():
                    raise Cancelled
                for key, _ in selector.select(min(remaining, 0.5)):
                    chunk = os.read(key.fd, CHUNK)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    if key.fileobj is proc.stderr:
                        outcome.stderr = (outcome.stderr + chunk)[:STDERR_LIMIT]
                        continue
                    outcome.output_bytes += len(chunk)
                    if keep == "tail":
                        tail.append(chunk)
                        tail_size += len(chunk)
                        while limit is not None and tail_size - len(tail[0]) >= limit:
                            tail_size -= len(tail.popleft())
                        continue
                    if limit is not None and outcome.output_bytes > limit:
                        room = limit - (outcome.output_bytes - len(chunk))
                        outcome.truncated = True
                        if room > 0:
                            yield chunk[:room]
                        return
                    yield chunk
        if keep == "tail":
            excess = tail_size - limit if limit is not None else 0
            outcome.truncated = excess > 0
            for chunk in tail:
                yield chunk[excess:] if excess > 0 else chunk
                excess -= len(chunk)
    finally:
        _stop(proc, outcome)


def _stop(proc: subprocess.Popen, outcome: CommandOutcome) -> None:
    """Kill what is still running, reap it and record how it ended."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        outcome.error = outcome.error or "could not be stopped"
    for pipe in (proc.stdout, proc.stderr):
        pipe.close()
    if not outcome.timed_out and not outcome.truncated:
        outcome.returncode = proc.returncode
    outcome.duration = round(time.monotonic() - outcome.started, 3)
