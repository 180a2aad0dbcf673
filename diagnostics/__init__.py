"""Web-free probe library of edge-webui: diagnostics, collectors and copy-log readers.

Nothing in this package imports Flask or changes the host it reads.
"""

from diagnostics.host import CommandResult, Device, Host, HostError
from diagnostics.probes import UnknownTests
from diagnostics.requires import Requires
from diagnostics.result import Result, Status, exit_code, worst
from diagnostics.runner import DiagnosticTest, catalogue, run, run_probes, select
from diagnostics.settings import ProbeSettings

__all__ = ["CommandResult", "Device", "DiagnosticTest", "Host", "HostError", "ProbeSettings",
           "Requires", "Result", "Status", "UnknownTests", "catalogue", "exit_code", "run",
           "run_probes", "select", "worst"]
__version__ = "0.1.0"
