"""Support packages: declarative collectors, redaction, obfuscation and a streamed zip.

Web-free and read-only: the only files written are the package the caller asks for and, when
obfuscating, the device-only obfuscation map. Typical use by the app's job runner::

    from diagnostics.collect import (CollectContext, ExtraItem, PackageOptions, build_package,
                                     check_free_space, cleanup_partials, prune)

    cleanup_partials(out_dir)                       # at start-up: leftovers of a crash
    check_free_space(out_dir, need_bytes)           # refuse early, with figures
    info = build_package(out_dir, PackageOptions(["system", "journal"], since_hours=6),
                         device_name="edge-01", context=CollectContext(
                             log_dir=..., secrets=[app.secret_key, *token_hashes],
                             obfuscation_map_path=instance / "obfuscation-map.json",
                             extra_items={"audit": [ExtraItem("audit.csv", export_audit)]}),
                         progress=job.set_progress, should_cancel=job.cancel_requested)
    prune(out_dir, keep=5, made_at={name: job_finished_at}, protect=[info.filename])

What the app can rely on:

- ``COLLECTORS`` lists every :class:`Collector` (``id``, ``description``) in package order;
  ``DEFAULT`` is the set of ids run when ``PackageOptions.collectors`` is None (all of them).
  Ids: system, hardware, resources, network, storage, services, journal, webui_log, audit,
  diagnostic_history, copylogs, firewall. ``audit`` and ``diagnostic_history`` hold only what
  the app supplies through ``CollectContext.extra_items``; any collector takes extra items.
- ``build_package`` returns :class:`PackageInfo` (``path``, ``filename``, ``size``, ``sha256``,
  ``manifest``) or raises :class:`PackageError` (subclasses :class:`PackageCancelled`,
  :class:`InsufficientSpace`) with a message for the admin; ``ValueError`` from
  ``PackageOptions`` names the field (``collectors: …``, ``since_hours: …``). Nothing is left
  behind on failure; a crash leaves a ``*.partial`` that :func:`cleanup_partials` removes.
- The zip holds ``<collector id>/<item>`` members and ``manifest.json`` (last); see
  :mod:`diagnostics.collect.manifest` for its shape and :func:`read_manifest` to read it back.
- ``python -m diagnostics.collect.cli`` is the console twin; :mod:`diagnostics.collect.cli`
  offers ``add_arguments`` and ``run`` for ``edge-webui support-package``.
"""

from diagnostics.collect.archive import (
    InsufficientSpace,
    PackageError,
    check_free_space,
    cleanup_partials,
    file_sha256,
    list_packages,
    package_filename,
    prune,
)
from diagnostics.collect.collectors import COLLECTOR_IDS, COLLECTORS, DEFAULT, Collector
from diagnostics.collect.context import CollectContext, ExtraItem
from diagnostics.collect.manifest import read_manifest
from diagnostics.collect.options import PackageOptions
from diagnostics.collect.package import PackageCancelled, PackageInfo, build_package

__all__ = [
    "COLLECTORS", "COLLECTOR_IDS", "DEFAULT", "CollectContext", "Collector", "ExtraItem",
    "InsufficientSpace", "PackageCancelled", "PackageError", "PackageInfo", "PackageOptions",
    "build_package", "check_free_space", "cleanup_partials", "file_sha256", "list_packages",
    "package_filename", "prune", "read_manifest",
]
