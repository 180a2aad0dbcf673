"""Connectivity modes and what each allows (SPEC F5): the one table other features ask."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostics.settings import CONNECTIVITY_MODES

# The probe library takes the mode too; it holds the one list of them.
MODES = CONNECTIVITY_MODES
DEFAULT_MODE = "fully_connected"
LABELS = {
    "fully_connected": "Fully connected",
    "partially_disconnected": "Partially disconnected",
    "fully_disconnected": "Fully disconnected",
}
CAPABILITIES = ("cloud_transfer", "remote_management", "support_upload", "notifications",
                "local_ui")
CAPABILITY_LABELS = {
    "cloud_transfer": "Cloud data transfer (share upload and download)",
    "remote_management": "Remote management (API tokens, metrics scraping)",
    "support_upload": "Outbound support upload",
    "notifications": "Alert notifications (e-mail, webhook, remote syslog)",
    "local_ui": "Local web UI",
}


@dataclass(frozen=True)
class Allowance:
    """Whether a capability may be used in a mode; ``warn`` asks the user to confirm first."""

    allowed: bool
    reason: str
    warn: bool = False

    def __bool__(self) -> bool:
        return self.allowed


def _yes(reason: str) -> Allowance:
    return Allowance(True, reason)


def _no(reason: str) -> Allowance:
    return Allowance(False, reason)


_RESTORE = "Change the connectivity mode on the device's local web UI to use it."

POLICY: dict[str, dict[str, Allowance]] = {
    "fully_connected": {
        "cloud_transfer": _yes("The device is fully connected."),
        "remote_management": _yes("The device is fully connected."),
        "support_upload": _yes("The device is fully connected."),
        "notifications": _yes("The device is fully connected."),
        "local_ui": _yes("The local web UI always works."),
    },
    "partially_disconnected": {
        "cloud_transfer": _no("Cloud data transfer is blocked: the device is partially "
                              "disconnected. " + _RESTORE),
        "remote_management": _yes("Allowed for monitoring traffic only: the device is "
                                  "partially disconnected."),
        "support_upload": Allowance(True, "The device is partially disconnected: check the size "
                                          "of the upload before sending it.", warn=True),
        "notifications": _yes("Sent only to destinations on a local network (private, "
                              "link-local or loopback addresses): the device is partially "
                              "disconnected."),
        "local_ui": _yes("The local web UI always works."),
    },
    "fully_disconnected": {
        "cloud_transfer": _no("Cloud data transfer is blocked: the device is fully "
                              "disconnected. " + _RESTORE),
        "remote_management": _no("Remote management is refused: the device is fully "
                                 "disconnected, so API tokens and metrics scraping do not work. "
                                 + _RESTORE),
        "support_upload": _no("Support upload is blocked: the device is fully disconnected. "
                              "Download the support package or copy it to a USB drive."),
        "notifications": _no("Not sent: the device is fully disconnected. The alert list and "
                             "the local journal still work; a digest follows when the device "
                             "is fully connected again."),
        "local_ui": _yes("The device is fully disconnected: the local web UI is the only way "
                         "to manage it."),
    },
}


def allows(capability: str, mode: str) -> Allowance:
    """May ``capability`` be used in ``mode``? See SPEC F5."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; one of {', '.join(CAPABILITIES)}")
    return POLICY[mode][capability]
