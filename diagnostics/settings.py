"""What the diagnostic tests are configured by: targets, thresholds and the web UI's own paths."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from diagnostics.proxy import Proxy

CONNECTIVITY_MODES = ("fully_connected", "partially_disconnected", "fully_disconnected")


@dataclass(frozen=True)
class ProbeSettings:
    """Settings of one diagnostic run; the defaults suit a stand-alone ``python -m diagnostics``.

    Endpoints are ``host:port`` strings; TCP checks go through ``proxy`` where it applies.
    Percentages are of the volume's size or inode count.
    """

    probe_timeout: float = 10.0
    network_timeout: float = 1.5
    connectivity_mode: str = "fully_connected"
    ntp_server: str = "pool.ntp.org"
    ntp_secondary: str = ""
    proxy: Proxy | None = None
    cloud_endpoints: tuple[str, ...] = ()
    update_endpoints: tuple[str, ...] = ()
    management_interface: str | None = None
    required_units: tuple[str, ...] = ()
    expected_disks: tuple[str, ...] = ()
    storage_warning_percent: float = 15.0
    storage_unhealthy_percent: float = 5.0
    data_mounts: tuple[str, ...] = ()
    read_only_mounts: tuple[str, ...] = ()
    load_warning_per_cpu: float = 2.0
    memory_warning_percent: float = 10.0
    memory_unhealthy_percent: float = 3.0
    certificate_path: str | None = None
    certificate_warning_days: int = 30
    device_name: str = field(default_factory=socket.gethostname)
    instance_dir: str | None = None
    support_package_free_bytes: int = 1 << 30
    kernel_log_hours: int = 24

    def __post_init__(self) -> None:
        if self.connectivity_mode not in CONNECTIVITY_MODES:
            raise ValueError(f"connectivity_mode must be one of {', '.join(CONNECTIVITY_MODES)}")
        if self.probe_timeout <= 0 or self.network_timeout <= 0:
            raise ValueError("probe_timeout and network_timeout must be positive")
        if not 0 <= self.storage_unhealthy_percent <= self.storage_warning_percent <= 100:
            raise ValueError("storage thresholds must satisfy 0 <= unhealthy <= warning <= 100")
        for endpoint in (*self.cloud_endpoints, *self.update_endpoints):
            parse_endpoint(endpoint)

    @property
    def fully_disconnected(self) -> bool:
        return self.connectivity_mode == "fully_disconnected"


def parse_endpoint(endpoint: str, default_port: int = 443) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` for IPv6) into its parts; the port is optional."""
    text = endpoint.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"endpoint {endpoint!r} has no host name")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"endpoint {endpoint!r} has an invalid port")
    return host, int(port_text)
