"""Web-free probe library of edge-webui: diagnostics, collectors and copy-log readers.

Nothing in this package imports Flask or changes the host it reads.
"""

from diagnostics.host import CommandResult, Host, HostError
from diagnostics.result import Result, Status, exit_code

__all__ = ["CommandResult", "Host", "HostError", "Result", "Status", "exit_code"]
__version__ = "0.1.0"
