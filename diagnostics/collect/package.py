"""Building a support package: run the chosen collectors into one redacted, streamed zip."""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import diagnostics
from diagnostics.collect import site_names
from diagnostics.collect.archive import (
    PARTIAL,
    PackageError,
    PackageWriter,
    file_sha256,
    package_filename,
)
from diagnostics.collect.collectors import (
    SINCE,
    Absent,
    Collector,
    CommandSpec,
    FileSpec,
    ItemSpec,
    ProducerSpec,
)
from diagnostics.collect.context import CollectContext
from diagnostics.collect.manifest import NAME, CollectorRecord, ItemRecord, build_manifest
from diagnostics.collect.obfuscate import ObfuscationMap
from diagnostics.collect.options import PackageOptions
from diagnostics.collect.redact import Redactor
from diagnostics.collect.sources import DeadlineReached, pumped, read_file
from diagnostics.host import Cancelled, CommandOutcome, Host
from diagnostics.names import as_bytes, display_name, is_plain, safe_name


class PackageCancelled(PackageError):
    """The caller's ``should_cancel`` asked to stop; nothing was left behind."""


@dataclass(frozen=True)
class PackageInfo:
    """A finished package: where it is, its size and checksum, and its manifest."""

    path: Path
    filename: str
    size: int
    sha256: str
    manifest: dict


def build_package(out_dir: str | os.PathLike, options: PackageOptions | None = None, *,
                  host: Host | None = None, device_name: str,
                  context: CollectContext | None = None,
                  progress: Callable[[int, int, str | None], None] | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> PackageInfo:
    """Build a support package in ``out_dir`` and return what was made.

    The zip is written to ``<name>.partial`` and renamed when complete; on any failure or
    cancel the partial file is removed and :class:`PackageError` (``PackageCancelled``,
    ``InsufficientSpace``) or the original exception is raised. ``progress(done, total,
    current_collector_id)`` is called before each collector and once at the end with
    ``current=None``; ``should_cancel()`` is polled between items and while commands run.
    Missing commands and files, timeouts and failing items are recorded in the manifest and
    never stop the package. Check free space first with :func:`check_free_space`.
    """
    options = options or PackageOptions()
    host = host or Host()
    context = context or CollectContext()
    obfuscation = _obfuscation(host, options, context)
    out_dir = Path(out_dir)
    created = dt.datetime.now(dt.UTC).replace(microsecond=0)
    filename = package_filename(device_name, created)
    final = out_dir / filename
    # Unique, so two packages started in the same second never share a partial file.
    partial = out_dir / f"{filename}.{secrets.token_hex(4)}{PARTIAL}"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        writer = PackageWriter(partial)
    except FileExistsError as exc:
        raise PackageError(f"{partial.name} is already being written.") from exc
    except OSError as exc:
        raise PackageError(f"Cannot write a support package in {out_dir}: "
                           f"{exc.strerror or exc}.") from exc
    try:
        run = _Run(host, options, context, writer, obfuscation, should_cancel)
        chosen = options.chosen
        records = []
        for done, collector in enumerate(chosen):
            if progress is not None:
                progress(done, len(chosen), collector.id)
            records.append(run.collector(collector))
        manifest = run.scrub(build_manifest(
            tool_version=diagnostics.__version__, device=device_name,
            created_at=created.strftime("%Y-%m-%dT%H:%M:%SZ"), options=options.as_dict(),
            obfuscated=obfuscation is not None, collectors=records))
        writer.add(NAME, [json.dumps(manifest, indent=1).encode() + b"\n"])
        writer.close()
        run.check_cancelled()  # the last moment a cancel can keep the package from being listed
        if obfuscation is not None:
            obfuscation.save()
        final = _publish(partial, final)
    except Cancelled as exc:
        writer.abandon()
        raise PackageCancelled("The support package was cancelled.") from exc
    except OSError as exc:
        writer.abandon()
        raise PackageError(f"Could not finish the support package in {out_dir}: "
                           f"{exc.strerror or exc}.") from exc
    except BaseException:
        writer.abandon()
        raise
    if progress is not None:
        progress(len(chosen), len(chosen), None)
    return PackageInfo(final, final.name, final.stat().st_size, file_sha256(final), manifest)


def _publish(partial: Path, final: Path) -> Path:
    """Give the finished package its name, never replacing one made in the same second."""
    stem = final.name.removesuffix(".zip")
    for number in range(1, 100):
        candidate = final if number == 1 else final.with_name(f"{stem}-{number}.zip")
        try:
            os.link(partial, candidate)
        except FileExistsError:
            continue
        except OSError:
            # A file system without hard links: a checked rename is the next best thing.
            if candidate.exists():
                continue
            os.replace(partial, candidate)
            return candidate
        partial.unlink()
        return candidate
    raise PackageError(f"Too many support packages named {final.name} in {final.parent}.")


def _obfuscation(host: Host, options: PackageOptions,
                 context: CollectContext) -> ObfuscationMap | None:
    if not options.obfuscate:
        return None
    if context.obfuscation_map_path is None:
        raise PackageError("Obfuscation needs a place on the device for its map "
                           "(obfuscation_map_path).")
    try:
        mapping = ObfuscationMap(context.obfuscation_map_path)
    except (OSError, ValueError) as exc:
        raise PackageError(f"The obfuscation map {context.obfuscation_map_path} cannot be read: "
                           f"{exc}.") from exc
    mapping.add_names([*site_names.host_names(host), *context.host_names],
                      [*site_names.user_names(host), *context.user_names])
    return mapping


class _Run:
    """The state of one package build: host, choices, writer, obfuscation and member names."""

    def __init__(self, host: Host, options: PackageOptions, context: CollectContext,
                 writer: PackageWriter, obfuscation: ObfuscationMap | None,
                 should_cancel: Callable[[], bool] | None):
        self.host, self.options, self.context = host, options, context
        self.writer, self.obfuscation = writer, obfuscation
        self.should_cancel = should_cancel
        self.since = f"@{int(time.time() - options.since_hours * 3600)}"
        self.names: set[str] = set()

    def check_cancelled(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled

    def redactor(self) -> Redactor:
        transform = self.obfuscation.apply if self.obfuscation is not None else None
        return Redactor(self.context.secrets, transform)

    def scrub_bytes(self, data: bytes) -> bytes:
        """``data`` redacted (and obfuscated) as a whole."""
        return b"".join(self.redactor().redact([data]))

    def scrub(self, value: object) -> object:
        """``value`` with every string in it redacted (and obfuscated); the JSON shape stays."""
        if isinstance(value, str):
            raw = value.encode("utf-8", "surrogatepass")
            return self.scrub_bytes(raw).decode(errors="replace")
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(item) for item in value]
        return value

    def cap(self, cap: int | None) -> int | None:
        return None if self.options.lift_caps else cap

    def collector(self, collector: Collector) -> CollectorRecord:
        record = CollectorRecord(collector.id, collector.description,
                                 dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        start = time.monotonic()
        deadline = start + collector.deadline
        try:
            planned = collector.plan(self.host, self.context)
        except Exception as exc:  # a broken plan loses this collector, not the package
            record.error = f"could not list items: {exc}"
            planned = []
        for spec in planned:
            self.check_cancelled()
            if time.monotonic() >= deadline:
                record.timed_out = True
                record.error = f"deadline of {collector.deadline:g} s reached"
                record.items.append(ItemRecord(_kind(spec), _source(spec), status="skipped",
                                               error=record.error))
                continue
            try:
                record.items += self.item(collector.id, spec, deadline)
            except (PackageError, Cancelled):
                raise
            except Exception as exc:  # one item's bug is recorded, the rest goes on
                record.items.append(ItemRecord(_kind(spec), _source(spec), status="failed",
                                               error=f"{type(exc).__name__}: {exc}"))
        record.timed_out = time.monotonic() >= deadline
        record.duration = round(time.monotonic() - start, 3)
        return record

    def item(self, collector_id: str, spec: ItemSpec | Absent, deadline: float) -> list[ItemRecord]:
        if isinstance(spec, Absent):
            return [ItemRecord(spec.kind, spec.source, status="absent", error=spec.reason)]
        if isinstance(spec, FileSpec):
            return self.files(collector_id, spec, deadline)
        if isinstance(spec, CommandSpec):
            return self.command(collector_id, spec, deadline)
        return [self.producer(collector_id, spec, deadline)]

    def member(self, collector_id: str, name: str) -> str:
        """A unique member name ``<collector>/<name>``, obfuscated like the content.

        Each part of ``name`` becomes a safe name (:func:`diagnostics.names.safe_name`): valid
        UTF-8 without control or format characters and at most 200 bytes, whatever the host
        called the file.
        """
        parts = [safe_name(part) for part in name.split("/") if part]
        base = "/".join([collector_id, *parts])
        if self.obfuscation is not None:
            base = self.obfuscation.apply(base.encode()).decode()
        member, n = base, 1
        while member in self.names:
            n += 1
            member = f"{base}-{n}"
        self.names.add(member)
        return member

    def files(self, collector_id: str, spec: FileSpec, deadline: float) -> list[ItemRecord]:
        if not spec.on_host:
            return [self.file(collector_id, Path(spec.pattern), spec.pattern, spec, deadline)]
        if glob.has_magic(spec.pattern):
            matches = sorted(glob.glob(str(self.host.path(spec.pattern))))
            if not matches:
                return [ItemRecord("file", spec.pattern, status="absent",
                                   error="no file matches")]
            return [self.file(collector_id, Path(m), "/" + str(Path(m).relative_to(
                self.host.root)), spec, deadline) for m in matches]
        return [self.file(collector_id, self.host.path(spec.pattern), spec.pattern, spec,
                          deadline)]

    def file(self, collector_id: str, real: Path, source: str, spec: FileSpec,
             deadline: float) -> ItemRecord:
        record = ItemRecord("file", display_name(source))
        if not is_plain(source):
            record.source_hex = self.scrub_bytes(as_bytes(source)).hex()
        if not real.exists():
            record.status, record.error = "absent", "file does not exist"
            return record
        if not real.is_file():
            record.status, record.error = "absent", "not a regular file"
            return record
        facts: dict = {}
        redactor = self.redactor()
        cap = self.cap(spec.cap)
        chunks = pumped(lambda: redactor.redact(read_file(real, cap, facts)), deadline,
                        self.should_cancel)
        self.write(record, self.member(collector_id, spec.name or source), chunks)
        record.source_size = facts.get("source_size")
        record.truncated = facts.get("truncated", False)
        return record

    def command(self, collector_id: str, spec: CommandSpec, deadline: float) -> list[ItemRecord]:
        argv = tuple(self.since if a == SINCE else a for a in spec.argv)
        record = ItemRecord("command", " ".join(argv))
        if self.unmet(spec, record):
            return [record]
        if self.host.which(argv[0]) is None:
            record.status, record.error = "absent", f"{argv[0]} is not installed"
            if spec.fallback is None:
                return [record]
            return [record, *self.item(collector_id, spec.fallback, deadline)]
        timeout = min(spec.timeout, deadline - time.monotonic())
        outcome = CommandOutcome()
        stream = self.host.stream(argv, outcome, timeout=timeout, limit=self.cap(spec.cap),
                                  keep=spec.keep, should_stop=self.should_cancel)
        self.write(record, self.member(collector_id, spec.name), self.redactor().redact(stream))
        record.exit_code = outcome.returncode
        record.duration = outcome.duration
        record.truncated = outcome.truncated
        record.timed_out = outcome.timed_out
        record.error = record.error or outcome.error
        if outcome.stderr:
            record.stderr = outcome.stderr.decode(errors="replace")[:1024]
        if outcome.timed_out:
            record.status = "timed_out"
        elif outcome.returncode not in (0, None):
            record.status = "failed"
            record.error = record.error or f"exit status {outcome.returncode}"
        return [record]

    def producer(self, collector_id: str, spec: ProducerSpec, deadline: float) -> ItemRecord:
        record = ItemRecord("producer", spec.source)
        if self.unmet(spec, record):
            return record
        facts: dict = {}
        redactor = self.redactor()
        cap = self.cap(spec.cap)
        chunks = pumped(lambda: redactor.redact(_head(spec.produce(self.host), cap, facts)),
                        deadline, self.should_cancel)
        self.write(record, self.member(collector_id, spec.name), chunks)
        record.truncated = facts.get("truncated", False)
        return record

    def unmet(self, spec: CommandSpec | ProducerSpec, record: ItemRecord) -> bool:
        """Record the item as absent when the host lacks what it ``requires``."""
        if spec.requires is None or self.host.exists(spec.requires):
            return False
        record.status, record.error = "absent", spec.reason
        return True

    def write(self, record: ItemRecord, member: str, chunks: Iterator[bytes]) -> None:
        """Write one member, recording its size, checksum, duration and any failure."""
        start = time.monotonic()
        size, sha256, failure = self.writer.add(member, chunks)
        record.name, record.bytes, record.sha256 = member, size, sha256
        record.duration = round(time.monotonic() - start, 3)
        if isinstance(failure, DeadlineReached):
            record.status, record.timed_out = "timed_out", True
            record.error = "collector deadline reached"
        elif isinstance(failure, FileNotFoundError | NotADirectoryError):
            record.status, record.error = "absent", str(failure)
        elif failure is not None:
            record.status = "failed"
            record.error = f"{type(failure).__name__}: {failure}"


def _head(chunks: Iterable[bytes], cap: int | None, facts: dict) -> Iterator[bytes]:
    """The first ``cap`` bytes of a producer's output."""
    left = cap
    for chunk in chunks:
        if left is not None and len(chunk) >= left:
            facts["truncated"] = len(chunk) > left
            yield chunk[:left]
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


def _kind(spec: ItemSpec | Absent) -> str:
    if isinstance(spec, Absent):
        return spec.kind
    return {FileSpec: "file", CommandSpec: "command", ProducerSpec: "producer"}[type(spec)]


def _source(spec: ItemSpec | Absent) -> str:
    if isinstance(spec, CommandSpec):
        return " ".join(spec.argv)
    if isinstance(spec, ProducerSpec):
        return spec.source
    return spec.pattern if isinstance(spec, FileSpec) else spec.source
