"""Web-free probe library of edge-webui: diagnostics, collectors and copy-log readers.

Nothing in this package imports Flask or changes the host it reads.
"""

from diagnostics.host import CommandResult, Device, Host, HostError
from diagnostics.result import Result, Status, exit_code
from diagnostics.runner import catalogue, run
from diagnostics.settings import ProbeSettings

__all__ = ["CommandResult", "Device", "Host", "HostError", "ProbeSettings", "Result", "Status",
           "catalogue", "exit_code", "run"]
__version__ = "0.1.0"
