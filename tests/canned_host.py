"""Canned hosts for the probe tests: a copy of a tree under tests/data/hosts, edited per test.

``appliance`` is a healthy physical box (its fake commands live in usr/bin and usr/sbin);
``container`` has nothing a container lacks: no NICs of its own, sensors, disks or systemd.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from diagnostics import Host
from diagnostics.net import SntpAnswer

HOSTS = Path(__file__).parent / "data" / "hosts"


class CannedHost(Host):
    """A Host over a tree copy whose network, clock and statvfs answers a test sets."""

    def __init__(self, root: Path):
        super().__init__(root, path_env=f"{root}/usr/bin:{root}/usr/sbin")
        self.clock = None
        self.free = {}
        self.sntp_answer = OSError("no NTP server in a canned host")
        self.sntp_answers: dict[str, SntpAnswer | Exception] = {}
        self.reachable: dict[str, float | Exception] = {}
        self.unresolvable: set[str] = set()
        self.connections: list[tuple] = []

    def write(self, absolute: str, text: str | None, mode: int | None = None) -> None:
        """Put ``text`` at ``absolute`` in the tree (None removes it)."""
        target = self.path(absolute)
        if text is None:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        if mode is not None:
            target.chmod(mode)

    def command(self, name: str, script: str) -> None:
        """Install a fake command: a shell script body (builtins only; PATH is the tree's)."""
        self.write(f"/usr/bin/{name}", "#!/bin/sh\n" + script + "\n", mode=0o755)

    def kernel_clock(self):
        return self.clock

    def sntp(self, server, port, timeout):
        """The answer ``sntp_answers`` holds for ``server``, else ``sntp_answer``."""
        answer = self.sntp_answers.get(server, self.sntp_answer)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def resolve(self, name, timeout):
        if name in self.unresolvable:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["192.0.2.10"]

    def tcp_connect(self, host, port, timeout, proxy=None):
        """Hosts in ``reachable`` answer (or raise what they map to); the rest time out. Each
        attempt is noted in ``connections`` with the proxy it went through (or None)."""
        via = proxy if proxy is not None and not proxy.bypasses(host) else None
        self.connections.append((host, port, via))
        if via is None and host in self.unresolvable:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = self.reachable.get(host, TimeoutError("timed out"))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def statvfs(self, absolute):
        free_percent, free_inodes_percent = self.free.get(absolute, (50.0, 90.0))
        return fake_statvfs(free_percent, free_inodes_percent)


def canned(tmp_path: Path, name: str = "appliance") -> CannedHost:
    """A private copy of ``tests/data/hosts/<name>`` that the test may edit."""
    root = tmp_path / name
    shutil.copytree(HOSTS / name, root, symlinks=True)
    return CannedHost(root)


def fake_statvfs(free_percent: float, free_inodes_percent: float = 90.0,
                 size: int = 1 << 40) -> os.statvfs_result:
    """A statvfs result of a volume of ``size`` bytes with the given free shares."""
    blocks, files = size // 4096, 1_000_000
    free = int(blocks * free_percent / 100)
    inodes = int(files * free_inodes_percent / 100)
    return os.statvfs_result((4096, 4096, blocks, free, free, files, inodes, inodes, 0, 255))
