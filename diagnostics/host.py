"""The one door to the operating system.

Every reader in ``diagnostics`` asks a :class:`Host` for files under ``/proc``, ``/sys``, ``/etc``,
``/run``, ``/dev`` and ``/var``, for commands, devices, file-system statistics, the kernel clock
and short network questions. Pointing ``root`` at a canned tree (and overriding the clock and
network methods) makes every probe testable; nothing here writes to the host.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from diagnostics import clock, net

DEFAULT_READ_LIMIT = 1 << 20
DEFAULT_OUTPUT_LIMIT = 1 << 20
DEFAULT_TIMEOUT = 10.0


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

    def read_tail(self, absolute: str, limit: int = DEFAULT_READ_LIMIT) -> bytes | None:
        """Last ``limit`` bytes of a file (logs keep their newest lines)."""
        try:
            with open(self.path(absolute), "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - limit))
                return f.read(limit)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise HostError(f"{absolute}: {exc.strerror or exc}") from exc

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

    def tcp_connect(self, host: str, port: int, timeout: float) -> float:
        """Seconds a TCP connection took to open. Raises ``OSError`` when it cannot."""
        return net.tcp_connect(host, port, timeout)

    def resolve(self, name: str, timeout: float) -> list[str]:
        """Addresses of a name, given up after ``timeout``. Raises ``OSError``."""
        return sorted({sockaddr[0] for _, sockaddr in net.resolve(name, 0, timeout)})

    def which(self, program: str) -> str | None:
        return shutil.which(program, path=self.path_env)

    def run(self, argv: list[str] | tuple[str, ...], *, timeout: float = DEFAULT_TIMEOUT,
            limit: int = DEFAULT_OUTPUT_LIMIT, input: bytes | None = None) -> CommandResult:
        """Run a command with a deadline and an output cap; never raises for the usual failures.

        A program that is not installed gives ``missing=True``; a hang is killed (with its process
        group) at ``timeout``; output past ``limit`` bytes is dropped and ``truncated`` is set.
        """
        argv = tuple(str(a) for a in argv)
        start = time.monotonic()
        exe = self.which(argv[0]) if "/" not in argv[0] else argv[0]
        if exe is None:
            return CommandResult(argv, None, "", "", 0.0, missing=True,
                                 error=f"{argv[0]} is not installed")
        env = {"PATH": self.path_env, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", **self.env}
        try:
            proc = subprocess.Popen(
                (exe, *argv[1:]),
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
        except OSError as exc:
            return CommandResult(argv, None, "", "", time.monotonic() - start,
                                 error=f"{argv[0]}: {exc.strerror or exc}")
        # Output past the cap is not worth waiting for: stop the command there.
        out = _CappedReader(proc.stdout, limit, on_overflow=lambda: _kill_group(proc, wait=False))
        err = _CappedReader(proc.stderr, 64 * 1024)
        if input is not None:
            try:
                proc.stdin.write(input)
                proc.stdin.close()
            except OSError:
                pass
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
        out.join(2)
        err.join(2)
        returncode = proc.poll()
        return CommandResult(
            argv, None if timed_out else returncode, out.text(), err.text(),
            round(time.monotonic() - start, 3), timed_out=timed_out, truncated=out.truncated,
            error=f"timed out after {timeout:g} s" if timed_out else None)


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


class _CappedReader(threading.Thread):
    """Drain a pipe in the background, keeping at most ``limit`` bytes."""

    def __init__(self, pipe, limit: int, on_overflow=None):
        super().__init__(daemon=True)
        self.pipe, self.limit, self.on_overflow = pipe, limit, on_overflow
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False
        self.start()

    def run(self) -> None:
        try:
            while chunk := self.pipe.read1(65536):
                room = self.limit - self.size
                if room > 0:
                    self.chunks.append(chunk[:room])
                    self.size += min(len(chunk), room)
                if len(chunk) > room:
                    self.truncated = True
                    if self.on_overflow is not None:
                        self.on_overflow()
                        return
        except (OSError, ValueError):
            pass
        finally:
            self.pipe.close()

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")


def _kill_group(proc: subprocess.Popen, wait: bool = True) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if not wait:
        return
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass
