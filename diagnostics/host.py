"""The one door to the operating system.

Every reader in ``diagnostics`` asks a :class:`Host` for files under ``/proc``, ``/sys``, ``/etc``,
``/run``, ``/dev`` and ``/var``, for commands, devices, file-system statistics, the kernel clock
and short network questions. Pointing ``root`` at a canned tree (and overriding the clock and
network methods) makes every probe testable; nothing here writes to the host.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from diagnostics import clock, net
from diagnostics.proxy import Proxy, applies

DEFAULT_READ_LIMIT = 1 << 20
DEFAULT_OUTPUT_LIMIT = 1 << 20
DEFAULT_TIMEOUT = 10.0
CHUNK = 1 << 20
STDERR_LIMIT = 4096
EXIT_GRACE = 2.0  # seconds of output still read after the command exits


class HostError(Exception):
    """A read that failed for a reason other than the file being absent."""


@dataclass(frozen=True)
class CommandResult:
    """What a command did. ``missing`` is True when the program is not installed."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    truncated: bool = False
    missing: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.missing


@dataclass(frozen=True)
class Device:
    """A kernel device as udev (or sysfs alone) describes it; ``sys_path`` is a host path."""

    sys_path: str
    sys_name: str
    subsystem: str
    devtype: str | None = None
    driver: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


class Host:
    """Readers and a command runner rooted at ``root`` (``/`` on a real host)."""

    def __init__(self, root: str | os.PathLike = "/", *, path_env: str | None = None,
                 env: dict[str, str] | None = None):
        self.root = Path(root)
        self.path_env = path_env if path_env is not None else os.environ.get(
            "PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        self.env = dict(env or {})

    @property
    def is_live(self) -> bool:
        """True when this host is the machine we run on (not a canned tree)."""
        return self.root == Path("/")

    def path(self, absolute: str) -> Path:
        """Map an absolute host path (``/proc/meminfo``) into this host's root."""
        return self.root / absolute.lstrip("/")

    def exists(self, absolute: str) -> bool:
        return self.path(absolute).exists()

    def read_bytes(self, absolute: str, limit: int = DEFAULT_READ_LIMIT) -> bytes | None:
        """First ``limit`` bytes of a file, or None when it does not exist."""
        try:
            with open(self.path(absolute), "rb") as f:
                return f.read(limit)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise HostError(f"{absolute}: {exc.strerror or exc}") from exc

    def read_text(self, absolute: str, limit: int = DEFAULT_READ_LIMIT) -> str | None:
        data = self.read_bytes(absolute, limit)
        return None if data is None else data.decode("utf-8", errors="replace")

    def read_value(self, absolute: str) -> str | None:
        """A one-line sysfs/procfs value, stripped; None when absent or unreadable."""
        try:
            text = self.read_text(absolute, 4096)
        except HostError:
            return None
        return None if text is None else text.strip()

    def read_int(self, absolute: str) -> int | None:
        value = self.read_value(absolute)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def listdir(self, absolute: str) -> list[str]:
        """Sorted entries of a directory; empty when it does not exist or cannot be read."""
        try:
            return sorted(os.listdir(self.path(absolute)))
        except OSError:
            return []

    def readlink(self, absolute: str) -> str | None:
        """Last component of a symlink's target (``driver`` → ``e1000e``); None when absent."""
        try:
            return os.path.basename(os.readlink(self.path(absolute)))
        except OSError:
            return None

    def statvfs(self, absolute: str) -> os.statvfs_result:
        """File-system statistics of the volume holding ``absolute``. Raises ``OSError``."""
        return os.statvfs(self.path(absolute))

    def devices(self, subsystem: str) -> list[Device]:
        """Devices of one subsystem, from udev when it can be asked, else from sysfs.

        pyudev (libudev) reads ``/sys`` plus udev's database when there is one; a canned root,
        or a host where libudev cannot be loaded, is enumerated from ``/sys/class`` directly.
        """
        if self.is_live:
            try:
                return _udev_devices(subsystem)
            except (ImportError, OSError):
                pass
        return self._sysfs_devices(subsystem)

    def _sysfs_devices(self, subsystem: str) -> list[Device]:
        devices = []
        for name in self.listdir(f"/sys/class/{subsystem}"):
            link = self.path(f"/sys/class/{subsystem}/{name}")
            target = Path(os.path.realpath(link))
            try:
                sys_path = "/" + str(target.relative_to(self.root.resolve()))
            except ValueError:
                continue
            uevent = _parse_uevent(self.read_text(f"{sys_path}/uevent", 64 * 1024) or "")
            devices.append(Device(
                sys_path=sys_path, sys_name=name, subsystem=subsystem,
                devtype=uevent.get("DEVTYPE"),
                driver=self.readlink(f"{sys_path}/device/driver") or uevent.get("DRIVER"),
                properties=uevent))
        return devices

    def kernel_clock(self) -> clock.KernelClock | None:
        """The kernel's clock synchronisation state; None for a canned host (no kernel to ask)."""
        return clock.read_kernel_clock() if self.is_live else None

    def sntp(self, server: str, port: int, timeout: float) -> net.SntpAnswer:
        """Ask an NTP server for the time. Raises ``OSError`` when it does not answer."""
        return net.sntp_query(server, port, timeout)

    def tcp_connect(self, host: str, port: int, timeout: float,
                    proxy: Proxy | None = None) -> float:
        """Seconds a TCP connection took to open, through ``proxy`` (HTTP CONNECT) unless it
        is None or bypasses ``host``. Raises ``OSError`` when it cannot."""
        if applies(proxy, host):
            return net.tunnel_connect(proxy, host, port, timeout)
        return net.tcp_connect(host, port, timeout)

    def resolve(self, name: str, timeout: float) -> list[str]:
        """Addresses of a name, given up after ``timeout``. Raises ``OSError``."""
        return sorted({sockaddr[0] for _, sockaddr in net.resolve(name, 0, timeout)})

    def which(self, program: str) -> str | None:
        return shutil.which(program, path=self.path_env)

    def run(self, argv: list[str] | tuple[str, ...], *, timeout: float = DEFAULT_TIMEOUT,
            limit: int = DEFAULT_OUTPUT_LIMIT) -> CommandResult:
        """Run a command with a deadline and an output cap; never raises for the usual failures.

        A program that is not installed gives ``missing=True``; a hang is killed (with its process
        group) at ``timeout``; output past ``limit`` bytes stops the command and sets ``truncated``.
        """
        argv = tuple(str(a) for a in argv)
        outcome = CommandOutcome()
        stdout = b"".join(self.stream(argv, outcome, timeout=timeout, limit=limit))
        return CommandResult(
            argv, outcome.returncode, stdout.decode("utf-8", errors="replace"),
            outcome.stderr.decode("utf-8", errors="replace"), outcome.duration,
            timed_out=outcome.timed_out, truncated=outcome.truncated, missing=outcome.missing,
            error=outcome.error)

    def stream(self, argv: tuple[str, ...], outcome: CommandOutcome, *, timeout: float,
               limit: int | None, keep: str = "head",
               should_stop: Callable[[], bool] | None = None) -> Iterator[bytes]:
        """Yield the stdout of ``argv`` run with this host's PATH; fill ``outcome`` as it goes.

        At most ``limit`` bytes come out (``None``: no cap): with ``keep="head"`` the command is
        stopped once the cap is reached; with ``keep="tail"`` it runs to the end and only the last
        ``limit`` bytes are kept (in memory, so tail caps stay modest). The command is killed with
        its process group at ``timeout`` seconds, and when ``should_stop`` returns True (then
        :class:`Cancelled` is raised).
        """
        exe = self.which(argv[0]) if "/" not in argv[0] else argv[0]
        if exe is None:
            outcome.missing = True
            outcome.error = f"{argv[0]} is not installed"
            return
        env = {"PATH": self.path_env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "SYSTEMD_PAGER": "",
               **self.env}
        try:
            proc = subprocess.Popen((exe, *argv[1:]), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                    start_new_session=True)
        except OSError as exc:
            outcome.error = f"{argv[0]}: {exc.strerror or exc}"
            outcome.duration = round(time.monotonic() - outcome.started, 3)
            return
        deadline = outcome.started + timeout
        try:
            yield from _read(proc, outcome, deadline, limit, keep, should_stop)
            if not outcome.timed_out and not outcome.truncated:
                _wait(proc, outcome, deadline)
        finally:
            _stop(proc, outcome)


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

    def time_out(self, timeout: float) -> None:
        self.timed_out = True
        self.error = f"timed out after {timeout:g} s"


class Cancelled(Exception):
    """The caller asked to stop while a command was running."""


def _read(proc: subprocess.Popen, outcome: CommandOutcome, deadline: float, limit: int | None,
          keep: str, should_stop: Callable[[], bool] | None) -> Iterator[bytes]:
    """The command's stdout until it closes it, the deadline, the cap or a stop request."""
    tail: deque[bytes] = deque()
    tail_size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        selector.register(proc.stderr, selectors.EVENT_READ)
        exited_at = None
        while selector.get_map():
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > EXIT_GRACE:
                break  # a child left behind holds the output open; the command itself is done
            remaining = deadline - now
            if remaining <= 0:
                outcome.time_out(deadline - outcome.started)
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


def _wait(proc: subprocess.Popen, outcome: CommandOutcome, deadline: float) -> None:
    # Closing its output is not exiting: the command's own exit code is still to come.
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        outcome.time_out(deadline - outcome.started)


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


def _udev_devices(subsystem: str) -> list[Device]:
    import pyudev

    devices = []
    for dev in pyudev.Context().list_devices(subsystem=subsystem):
        # A disk or NIC has no driver of its own: the one bound to its parent device counts.
        driver = dev.driver or (dev.parent.driver if dev.parent is not None else None)
        devices.append(Device(
            sys_path=dev.sys_path, sys_name=dev.sys_name, subsystem=subsystem,
            devtype=dev.device_type, driver=driver,
            properties=dict(dev.properties)))
    return devices


def _parse_uevent(text: str) -> dict[str, str]:
    pairs = (line.partition("=") for line in text.splitlines())
    return {key: value for key, sep, value in pairs if sep}
