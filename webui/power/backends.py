"""How restart and shut down are carried out: through systemd, or simulated (dry-run)."""

from __future__ import annotations

import shlex

from diagnostics.host import Host

COMMAND_TIMEOUT = 20.0


class PowerError(Exception):
    """The backend could not carry out the request; the message is for the user."""


class DryRunBackend:
    """Records requests and never touches the host (the default of ``make run``)."""

    name = "dry-run"
    simulated = True

    def carry_out(self, action: str, delay_minutes: int, message: str) -> None:
        """Nothing to do: the service records the request."""

    def cancel(self) -> None:
        """Nothing to do: the service records the cancellation."""


class SystemdBackend:
    """logind through ``systemctl`` (now) and ``shutdown`` (later, cancel), found on PATH.

    The service user may do this thanks to the polkit rule in ``deploy/``.
    """

    name = "systemd"
    simulated = False

    def commands(self, action: str, delay_minutes: int, message: str) -> list[str]:
        """The command line for a request."""
        if delay_minutes == 0:
            argv = ["systemctl", "reboot" if action == "restart" else "poweroff"]
            return argv + ([f"--message={message}"] if message else [])
        argv = ["shutdown", "-r" if action == "restart" else "-h", f"+{delay_minutes}"]
        # "--" keeps a message such as "-c" from being read as an option.
        return argv + (["--", message] if message else [])

    def carry_out(self, action: str, delay_minutes: int, message: str) -> None:
        _run(self.commands(action, delay_minutes, message))

    def cancel(self) -> None:
        _run(["shutdown", "-c"])


BACKENDS = {backend.name: backend for backend in (DryRunBackend, SystemdBackend)}


def backend_for(name: str) -> DryRunBackend | SystemdBackend:
    """The backend a ``WEBUI_POWER_BACKEND`` value names."""
    return BACKENDS[name]()


def _run(argv: list[str]) -> None:
    # A fresh Host reads PATH now, so the command is looked up where the service runs today.
    result = Host().run(argv, timeout=COMMAND_TIMEOUT, limit=64 * 1024)
    shown = shlex.join(argv)
    if result.missing:
        raise PowerError(f"The systemd power backend needs the {argv[0]} command, which is not "
                         "installed on this device (not found on PATH). Install systemd, or set "
                         "WEBUI_POWER_BACKEND=dry-run.")
    if result.timed_out:
        raise PowerError(f"{shown} did not finish within {COMMAND_TIMEOUT:g} s and was stopped.")
    if not result.ok:
        why = (result.stderr or result.stdout).strip() or "no message"
        status = (f"exit status {result.returncode}" if result.returncode is not None
                  else result.error)
        raise PowerError(f"{shown} failed ({status}): {why}")
