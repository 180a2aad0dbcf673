"""What the app hands the collectors: its own items and what it knows is secret."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExtraItem:
    """Bytes only the app can produce (its audit export, diagnostic runs, copy-log summaries).

    ``producer`` is called once while the package is built and yields the item's bytes; it runs
    under the collector's deadline and its output is redacted like everything else.
    """

    name: str
    producer: Callable[[], Iterable[bytes]]


@dataclass(frozen=True)
class CollectContext:
    """What the app knows and the library cannot: where its logs are, what is secret.

    - ``log_dir``: directory of the web UI's own logs (``webui_log`` collector).
    - ``copylog_roots``: copy-log roots (``copylogs`` collector), each file capped.
    - ``secrets``: literal secrets removed wherever they appear (the app's secret key, token
      hashes).
    - ``obfuscation_map_path``: where the obfuscation map lives on the device (0600); required
      when ``obfuscate`` is chosen.
    - ``extra_items``: collector id → items the app produces, e.g. ``{"audit": [...],
      "diagnostic_history": [...], "copylogs": [...]}``.
    - ``host_names``, ``user_names``: names to obfuscate besides those found on the host.
    """

    log_dir: str | os.PathLike | None = None
    copylog_roots: Sequence[str | os.PathLike] = ()
    secrets: Sequence[str | bytes] = ()
    obfuscation_map_path: str | os.PathLike | None = None
    extra_items: Mapping[str, Sequence[ExtraItem]] = field(default_factory=dict)
    host_names: Sequence[str] = ()
    user_names: Sequence[str] = ()
