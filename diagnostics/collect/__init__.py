"""Support packages: declarative collectors, redaction, obfuscation and a streamed zip.

Web-free and read-only: the only file written is the package the caller asks for (and, when
obfuscating, the device-only obfuscation map). Typical use by the app's job runner::

    from diagnostics.collect import (CollectContext, ExtraItem, PackageOptions, build_package,
                                     check_free_space, cleanup_partials, prune)

    cleanup_partials(out_dir)                       # at start-up: leftovers of a crash
    check_free_space(out_dir, need_bytes)           # refuse early, with figures
    info = build_package(out_dir, PackageOptions(["system", "journal"], since_hours=6),
                         device_name="edge-01", context=CollectContext(
                             log_dir=..., secrets=[app.secret_key],
                             extra_items={"audit": [ExtraItem("audit.csv", export_audit)]}),
                         progress=job.set_progress, should_cancel=job.cancel_requested)
    prune(out_dir, keep=5)

``COLLECTORS`` lists every collector in order; ``DEFAULT`` is the set run when none is chosen.
"""

from diagnostics.collect.archive import (
    InsufficientSpace,
    PackageError,
    check_free_space,
    cleanup_partials,
    list_packages,
    package_filename,
    prune,
)
from diagnostics.collect.collectors import COLLECTOR_IDS, COLLECTORS, DEFAULT, Collector
from diagnostics.collect.manifest import read_manifest
from diagnostics.collect.package import (
    CollectContext,
    ExtraItem,
    PackageCancelled,
    PackageInfo,
    PackageOptions,
    build_package,
)

__all__ = [
    "COLLECTORS", "COLLECTOR_IDS", "DEFAULT", "CollectContext", "Collector", "ExtraItem",
    "InsufficientSpace", "PackageCancelled", "PackageError", "PackageInfo", "PackageOptions",
    "build_package", "check_free_space", "cleanup_partials", "list_packages", "package_filename",
    "prune", "read_manifest",
]
