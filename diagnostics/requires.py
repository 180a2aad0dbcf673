"""What a diagnostic test needs of the host before it can judge anything, as data.

Each probe module declares ``REQUIRES``; the runner checks it before running the probe and
answers ``not_applicable`` naming what is missing. What a probe merely reads when it is there
(SMART, IPMI, EDAC) is no requirement: the probe says so in its result.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.host import Host

SYSTEMD_RUNNING = "/run/systemd/system"


@dataclass(frozen=True)
class Requires:
    """Every path present, every command installed and, when ``systemd``, systemd running."""

    paths: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    systemd: bool = False

    def missing(self, host: Host) -> list[str]:
        """What ``host`` lacks of these needs, in words; empty when every need is met."""
        lacking = [f"{path} is not present" for path in self.paths if not host.exists(path)]
        lacking += [f"the command {command} is not installed" for command in self.commands
                    if host.which(command) is None]
        if self.systemd and not host.exists(SYSTEMD_RUNNING):
            lacking.append(f"systemd is not running (no {SYSTEMD_RUNNING})")
        return lacking


NOTHING = Requires()
