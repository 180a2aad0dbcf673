"""Support packages: planted secrets, obfuscation, hangs, floods, full disks, cancel, leftovers."""

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from diagnostics.collect import (
    COLLECTORS,
    DEFAULT,
    CollectContext,
    Collector,
    ExtraItem,
    InsufficientSpace,
    PackageCancelled,
    PackageError,
    PackageOptions,
    build_package,
    check_free_space,
    cleanup_partials,
    cli,
    collectors,
    package_filename,
    prune,
    read_manifest,
)
from diagnostics.collect.collectors import CommandSpec, FileSpec, ProducerSpec
from diagnostics.host import Host

DATA = Path(__file__).parent / "data" / "collect"
APP_SECRET = "PLANTED-app-secret-key-19"
TOKEN_HASH = "PLANTED0hash0deadbeefcafe20"
STATUSES = {"collected", "absent", "failed", "timed_out", "skipped"}


def members(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as zf:
        assert zf.testzip() is None
        return {name: zf.read(name) for name in zf.namelist()}


def items(manifest: dict) -> list[dict]:
    return [item for c in manifest["collectors"] for item in c["items"]]


def fake_bin(directory: Path, name: str, script: str) -> None:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(0o755)


def with_system_path(bin_dir: Path) -> Host:
    """The live host with fake commands first on PATH."""
    return Host(path_env=f"{bin_dir}:/usr/bin:/bin")


@pytest.fixture
def canned_host(tmp_path):
    """The canned host tree with a PATH holding only a few fake commands."""
    bin_dir = tmp_path / "bin"
    fake_bin(bin_dir, "uname", "echo Linux edgebox-7 6.1.0-edge x86_64 GNU/Linux\n"
                               "echo 'warning: password: PLANTED-stderr-21' >&2\n")
    fake_bin(bin_dir, "ip", 'echo \'[{"ifname":"eth0","addr_info":[{"local":"10.20.30.40"}]}]\'\n')
    return Host(DATA / "host", path_env=str(bin_dir))


@pytest.fixture
def only(monkeypatch):
    """Replace the catalogue with the given collectors for one test."""
    def install(*chosen: Collector) -> None:
        monkeypatch.setattr(collectors, "COLLECTORS", chosen)
        monkeypatch.setattr(collectors, "COLLECTOR_IDS", tuple(c.id for c in chosen))
        monkeypatch.setattr(collectors, "DEFAULT", frozenset(c.id for c in chosen))
    return install



@pytest.fixture
def released():
    """Set when the test ends: a hung producer's thread then finishes instead of lingering."""
    event = threading.Event()
    yield event
    event.set()


def hung(released: threading.Event):
    """A producer that hangs without using the processor until ``released`` is set."""
    released.wait()
    yield b""

def test_planted_secrets_never_reach_the_archive(tmp_path, canned_host):
    context = CollectContext(
        log_dir=DATA / "logs", secrets=[APP_SECRET, TOKEN_HASH.encode()],
        extra_items={"audit": [ExtraItem("audit.csv", lambda: [
            b"time,user,action\n", f"2026-11-26,admin,login password={APP_SECRET}x\n".encode()])]})
    options = PackageOptions(["system", "network", "webui_log", "audit"])
    info = build_package(tmp_path / "out", options, host=canned_host, device_name="edge",
                         context=context)
    content = members(info.path)
    assert "webui_log/nested/tls.pem" in content and "audit/audit.csv" in content
    for name, data in content.items():
        assert b"PLANTED" not in data, name
    assert b"trailing line kept" in content["webui_log/nested/tls.pem"]
    assert b"-----BEGIN CERTIFICATE-----" in content["webui_log/nested/tls.pem"]
    assert b'"user": "admin"' in content["webui_log/settings.json"]
    assert b"[redacted]" in content["network/etc/network/interfaces"]
    uname = next(i for i in items(info.manifest) if i["source"] == "uname -a")
    assert uname["stderr"] == "warning: password: [redacted]\n"


def test_manifest_describes_every_item_with_its_checksum(tmp_path, canned_host):
    info = build_package(tmp_path, PackageOptions(["system", "network", "services"]),
                         host=canned_host, device_name="edge/01 ünit", context=CollectContext())
    content = members(info.path)
    manifest = json.loads(content["manifest.json"])
    assert manifest == info.manifest == read_manifest(info.path)
    assert list(content)[-1] == "manifest.json"
    assert manifest["device"] == "edge/01 ünit"
    assert manifest["options"] == {"collectors": ["system", "network", "services"],
                                   "since_hours": 24, "obfuscate": False, "lift_caps": False}
    assert [c["id"] for c in manifest["collectors"]] == ["system", "network", "services"]
    by_source = {i["source"]: i for i in items(manifest)}
    for item in items(manifest):
        assert item["status"] in STATUSES
        if item["name"]:
            data = content[item["name"]]
            assert item["bytes"] == len(data)
            assert item["sha256"] == hashlib.sha256(data).hexdigest()
    assert by_source["uname -a"]["exit_code"] == 0
    assert content["system/uname.txt"].startswith(b"Linux edgebox-7")
    assert by_source["/etc/os-release"]["status"] == "collected"
    assert by_source["/etc/timezone"] == {**by_source["/etc/timezone"], "status": "absent",
                                          "error": "file does not exist", "name": None}
    assert by_source["hostname --fqdn"]["error"] == "hostname is not installed"
    assert by_source["systemctl --failed --no-pager --full"]["error"] == "systemd is not running"
    assert by_source["/etc/netplan/*.yaml"]["error"] == "no file matches"
    # ss is missing on the canned host: the psutil fallback stands in and both are recorded.
    assert by_source["ss -tulnp"]["status"] == "absent"
    assert by_source["psutil"]["name"] == "network/listening-sockets.json"
    assert info.filename.startswith("supportpackage-edge-01-nit-")
    assert info.size == info.path.stat().st_size
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert not list(tmp_path.glob("*.partial"))


def test_obfuscation_maps_the_same_value_to_the_same_token_and_keeps_the_map_private(
        tmp_path, canned_host):
    map_path = tmp_path / "private" / "obfuscation.json"
    context = CollectContext(log_dir=DATA / "logs", secrets=[APP_SECRET, TOKEN_HASH],
                             obfuscation_map_path=map_path)
    options = PackageOptions(["system", "network", "webui_log"], obfuscate=True)
    info = build_package(tmp_path / "out", options, host=canned_host, device_name="edge",
                         context=context)
    content = members(info.path)
    everything = b"\n".join(content.values())
    for real in (b"10.20.30.40", b"10.20.30.55", b"52:54:00:12:34:56", b"fe80::5054",
                 b"edgebox-7", b"operator1"):
        assert real not in everything, real
    mapping = json.loads(map_path.read_text())
    token = mapping["ip4"]["10.20.30.40"].encode()
    assert token in content["network/etc/network/interfaces"]
    assert token in content["network/etc/hosts"]
    assert token in content["network/ip-addr.json"]
    assert token in content["webui_log/webui.log"]
    assert mapping["host"]["edgebox-7"].encode() in content["system/etc/hostname"]
    assert stat.S_IMODE(map_path.stat().st_mode) == 0o600
    assert not any(name.endswith("obfuscation.json") for name in content)
    assert not any("edgebox" in name or "10.20" in name for name in content)
    for token_text in mapping["ip4"].values():
        assert token_text.encode() in everything  # tokens are in, the map is not
    assert b'"10.20.30.40"' not in everything
    assert info.manifest["obfuscated"] is True

    again = build_package(tmp_path / "out2", options, host=canned_host, device_name="edge",
                          context=context)
    assert token in members(again.path)["network/ip-addr.json"]


def test_obfuscation_needs_a_readable_map(tmp_path, canned_host):
    options = PackageOptions(["system"], obfuscate=True)
    with pytest.raises(PackageError, match="obfuscation_map_path"):
        build_package(tmp_path / "out", options, host=canned_host, device_name="edge")
    broken = tmp_path / "map.json"
    broken.write_text("{not json")
    with pytest.raises(PackageError, match="cannot be read"):
        build_package(tmp_path / "out", options, host=canned_host, device_name="edge",
                      context=CollectContext(obfuscation_map_path=broken))
    assert not (tmp_path / "out").exists()


def test_a_hanging_command_times_out_and_a_flood_is_truncated(tmp_path, only):
    bin_dir = tmp_path / "bin"
    fake_bin(bin_dir, "hang", "sleep 600 &\nwait\n")
    fake_bin(bin_dir, "flood", "exec head -c 1073741824 /dev/zero\n")
    fake_bin(bin_dir, "lines", "exec seq 1 2000000\n")
    only(Collector("slow", "hangs and floods", (
        CommandSpec(("hang",), "hang.txt", timeout=0.5),
        CommandSpec(("flood",), "flood.bin", cap=4 << 20),
        CommandSpec(("lines",), "lines.txt", cap=1 << 20, keep="tail"),
    )), Collector("after", "still runs", (CommandSpec(("lines",), "all.txt", cap=None),)))
    tracemalloc.start()
    try:
        info = build_package(tmp_path, host=with_system_path(bin_dir), device_name="edge")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20
    hang, flood, lines = info.manifest["collectors"][0]["items"]
    assert hang["status"] == "timed_out" and hang["timed_out"] and hang["exit_code"] is None
    assert hang["error"] == "timed out after 0.5 s"
    assert flood["truncated"] and flood["bytes"] == 4 << 20 and not flood["timed_out"]
    assert lines["truncated"] and lines["bytes"] == 1 << 20
    content = members(info.path)
    assert content["slow/lines.txt"].endswith(b"1999999\n2000000\n")
    assert content["after/all.txt"].startswith(b"1\n2\n3\n")
    assert info.manifest["collectors"][1]["items"][0]["status"] == "collected"


def test_collector_deadline_skips_what_is_left(tmp_path, only, released):
    bin_dir = tmp_path / "bin"
    fake_bin(bin_dir, "hang", "exec sleep 600\n")
    only(Collector("slow", "hangs", (
        CommandSpec(("hang",), "one.txt"), CommandSpec(("hang",), "two.txt"),
        ProducerSpec("stuck.txt", lambda host: hung(released), "a stuck producer"),
    ), deadline=0.5))
    info = build_package(tmp_path, host=with_system_path(bin_dir), device_name="edge")
    record = info.manifest["collectors"][0]
    assert record["timed_out"] is True
    assert [i["status"] for i in record["items"]] == ["timed_out", "skipped", "skipped"]


def test_a_stuck_producer_is_abandoned_at_the_deadline(tmp_path, only, released):
    def stuck(host):
        yield b"first line\n"
        yield from hung(released)

    only(Collector("slow", "stuck", (ProducerSpec("stuck.txt", stuck, "a stuck producer"),),
                   deadline=0.5))
    info = build_package(tmp_path, device_name="edge")
    item = info.manifest["collectors"][0]["items"][0]
    assert item["status"] == "timed_out" and item["error"] == "collector deadline reached"
    assert members(info.path)["slow/stuck.txt"] == b"first line\n"


def test_a_failing_producer_is_recorded_and_the_package_completes(tmp_path, only):
    def broken(host):
        yield b"partial\n"
        raise RuntimeError("database is locked")

    only(Collector("app", "app items", (ProducerSpec("broken.txt", broken, "the app"),
                                         FileSpec("/etc/os-release"))))
    info = build_package(tmp_path, host=Host(DATA / "host"), device_name="edge")
    broken_item, os_release = info.manifest["collectors"][0]["items"]
    assert broken_item["status"] == "failed"
    assert broken_item["error"] == "RuntimeError: database is locked"
    assert broken_item["bytes"] == len(b"partial\n")
    assert os_release["status"] == "collected"


def test_files_keep_their_tail_and_symlinks_out_of_the_log_dir_are_skipped(tmp_path, only):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "big.log").write_bytes(b"".join(b"line %07d\n" % i for i in range(400_000)))
    (log_dir / "shadow").symlink_to("/etc/shadow")
    only(Collector("logs", "logs", expand=lambda host, context: collectors.tree_files(
        Path(context.log_dir), "", cap=1 << 20)))
    info = build_package(tmp_path / "out", device_name="edge",
                         context=CollectContext(log_dir=log_dir))
    (item,) = info.manifest["collectors"][0]["items"]
    assert item["name"] == "logs/big.log" and item["truncated"]
    assert item["bytes"] == 1 << 20 and item["source_size"] == 400_000 * 13
    assert members(info.path)["logs/big.log"].endswith(b"line 0399999\n")


def test_progress_is_reported_collector_by_collector(tmp_path, canned_host):
    calls = []
    build_package(tmp_path, PackageOptions(["network", "system"]), host=canned_host,
                  device_name="edge", progress=lambda *a: calls.append(a))
    assert calls == [(0, 2, "system"), (1, 2, "network"), (2, 2, None)]


def test_cancel_removes_the_partial_package(tmp_path, canned_host):
    asked = []

    def should_cancel():
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(PackageCancelled):
        build_package(tmp_path / "out", PackageOptions(["system", "network"]), host=canned_host,
                      device_name="edge", should_cancel=should_cancel)
    assert list((tmp_path / "out").iterdir()) == []


def test_write_failure_removes_the_partial_package(tmp_path, canned_host, monkeypatch):
    from diagnostics.collect import archive

    class FullDisk:
        def __init__(self, path, mode):
            self.inner = open(path, mode)  # noqa: SIM115 (closed by close())
            self.written = 0

        def write(self, data):
            self.written += len(data)
            if self.written > 2000:
                raise OSError(28, "No space left on device")
            return self.inner.write(data)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(archive, "open", FullDisk, raising=False)
    with pytest.raises(PackageError, match="No space left on device"):
        build_package(tmp_path / "out", PackageOptions(["system", "network"]), host=canned_host,
                      device_name="edge")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="a private tmpfs needs root and unshare")
def test_a_full_tmpfs_leaves_no_partial_package(tmp_path):
    target, logs = tmp_path / "target", tmp_path / "logs"
    target.mkdir()
    logs.mkdir()
    (logs / "noise.log").write_bytes(os.urandom(3 << 20))  # incompressible, larger than 1 MiB
    script = textwrap.dedent(f"""
        import json, os
        from diagnostics.collect import CollectContext, PackageError, PackageOptions
        from diagnostics.collect import build_package
        try:
            build_package({str(target)!r}, PackageOptions(["webui_log"]), device_name="edge",
                          context=CollectContext(log_dir={str(logs)!r}))
            outcome = "built"
        except PackageError as exc:
            outcome = str(exc)
        print(json.dumps({{"outcome": outcome, "left": os.listdir({str(target)!r})}}))
    """)
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -m is not permitted here: {probe.stderr.decode().strip()}")
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", f'mount -t tmpfs -o size=1m tmpfs "{target}" && '
         f'exec "{sys.executable}" -c "$0"', script],
        capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout)
    assert "No space left on device" in result["outcome"]
    assert result["left"] == []


def test_cleanup_partials_and_prune(tmp_path):
    for day, stamp in enumerate(("20261101T000000Z", "20261102T000000Z", "20261103T000000Z")):
        path = tmp_path / f"supportpackage-edge-{stamp}.zip"
        path.write_bytes(b"zip")
        os.utime(path, (1_700_000_000 + day * 86400,) * 2)
    (tmp_path / "supportpackage-edge-20261104T000000Z.zip.partial").write_bytes(b"half")
    (tmp_path / "unrelated.partial").write_bytes(b"not ours")
    assert [p.name for p in cleanup_partials(tmp_path)] == [
        "supportpackage-edge-20261104T000000Z.zip.partial"]
    assert [p.name for p in prune(tmp_path, keep=2)] == ["supportpackage-edge-20261101T000000Z.zip"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "supportpackage-edge-20261102T000000Z.zip", "supportpackage-edge-20261103T000000Z.zip",
        "unrelated.partial"]


def test_package_filename_is_safe_and_utc():
    when = dt.datetime(2026, 11, 26, 10, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert package_filename("Edge Box #1", when) == "supportpackage-Edge-Box-1-20261126T083005Z.zip"
    assert package_filename("../..", when) == "supportpackage-device-20261126T083005Z.zip"


def test_check_free_space_says_how_much_is_missing(tmp_path):
    assert check_free_space(tmp_path, 1) > 0
    with pytest.raises(InsufficientSpace, match=r"free, .* needed") as caught:
        check_free_space(tmp_path, 1 << 60)
    assert caught.value.need == 1 << 60 and caught.value.directory == tmp_path


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"collectors": ["nope"]}, "collectors"),
    ({"collectors": []}, "collectors"),
    ({"since_hours": 0}, "since_hours"),
    ({"since_hours": True}, "since_hours"),
    ({"since_hours": "24"}, "since_hours"),
])
def test_invalid_options_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        PackageOptions(**kwargs)


def test_console_entry_builds_a_package_and_reports_bad_options(tmp_path, capsys):
    assert cli.main(["--out", str(tmp_path), "--collector", "system", "--device", "edge"]) == 0
    (package,) = tmp_path.glob("supportpackage-edge-*.zip")
    assert capsys.readouterr().out == f"{package}\n"
    assert read_manifest(package)["options"]["collectors"] == ["system"]
    assert cli.main(["--out", str(tmp_path), "--since", "0"]) == 1
    assert "since_hours: " in capsys.readouterr().err


def test_default_collectors_on_this_host_make_a_valid_package(tmp_path):
    assert {c.id for c in COLLECTORS} == DEFAULT
    info = build_package(tmp_path, PackageOptions(since_hours=1), device_name="this host",
                         context=CollectContext(log_dir=tmp_path / "no-such-dir"))
    content = members(info.path)
    manifest = content["manifest.json"]
    assert json.loads(manifest) == info.manifest
    assert [c["id"] for c in info.manifest["collectors"]] == [c.id for c in COLLECTORS]
    for item in items(info.manifest):
        assert item["status"] in STATUSES
        if item["status"] == "absent":
            assert item["error"]
            assert item["name"] is None
    assert any(i["source"] == "psutil" and i["status"] == "collected"
               for i in items(info.manifest))
    assert "resources/top-processes.json" in content


@pytest.mark.parametrize("sizes", [[], [0], [10], [3 << 20], [700_000, 5, 900_000, 2 << 20]])
def test_parallel_deflate_makes_one_ordinary_deflate_stream(sizes):
    from concurrent.futures import ThreadPoolExecutor

    from diagnostics.collect.deflate import ParallelDeflate

    rng = random.Random(1)
    letters = bytes.maketrans(bytes(range(256)), b"abcdefgh \n" * 25 + b"abcdef")
    chunks = [rng.randbytes(n).translate(letters) for n in sizes]
    with ThreadPoolExecutor(2) as pool:
        compressor = ParallelDeflate(pool, 6, in_flight=2)
        stream = b"".join(compressor.compress(c) for c in chunks) + compressor.flush()
    assert zlib.decompress(stream, -15) == b"".join(chunks)


def test_journal_window_and_kernel_log_fallback(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_bin(bin_dir, "journalctl", 'echo "$@"\n')
    fake_bin(bin_dir, "dmesg", "echo kernel ring buffer\n")
    before = time.time()
    info = build_package(tmp_path / "out", PackageOptions(["journal"], since_hours=6),
                         host=Host(path_env=str(bin_dir)), device_name="edge")
    journal, kernel = info.manifest["collectors"][0]["items"][:2]
    since = int(journal["source"].split("--since @")[1].split()[0])
    assert before - 6 * 3600 - 5 <= since <= time.time() - 6 * 3600
    assert kernel["source"].startswith("journalctl --no-pager -k")
    content = members(info.path)
    assert f"--since @{since}".encode() in content["journal/journal.txt"]

    fake_bin(tmp_path / "only-dmesg", "dmesg", "echo kernel ring buffer\n")
    fallback = build_package(tmp_path / "out2", PackageOptions(["journal"]),
                             host=Host(path_env=str(tmp_path / "only-dmesg")), device_name="edge")
    kernel, dmesg = items(fallback.manifest)[1:3]
    assert kernel["source"].startswith("journalctl --no-pager -k")
    assert kernel["status"] == "absent" and kernel["error"] == "journalctl is not installed"
    assert dmesg["source"] == "dmesg --time-format iso" and dmesg["status"] == "collected"
    assert members(fallback.path)["journal/dmesg.txt"] == b"kernel ring buffer\n"


def test_copylogs_from_several_roots_and_the_apps_summary(tmp_path):
    roots = [tmp_path / "a" / "logs", tmp_path / "b" / "logs"]
    for number, root in enumerate(roots):
        (root / "share1").mkdir(parents=True)
        (root / "share1" / "copy.log").write_text(f"root {number} password=PLANTED-{number}\n")
    context = CollectContext(copylog_roots=roots, extra_items={"copylogs": [
        ExtraItem("copylog-summaries.json", lambda: [b'{"logs": []}\n'])]})
    info = build_package(tmp_path / "out", PackageOptions(["copylogs"]), device_name="edge",
                         context=context)
    content = members(info.path)
    assert content["copylogs/1-logs/share1/copy.log"] == b"root 0 password=[redacted]\n"
    assert content["copylogs/2-logs/share1/copy.log"] == b"root 1 password=[redacted]\n"
    assert content["copylogs/copylog-summaries.json"] == b'{"logs": []}\n'


def test_cancel_stops_a_running_command_at_once(tmp_path, only):
    bin_dir = tmp_path / "bin"
    fake_bin(bin_dir, "hang", "exec sleep 600\n")
    only(Collector("slow", "hangs", (CommandSpec(("hang",), "hang.txt", timeout=600),),
                   deadline=600))
    started = []

    def should_cancel():
        started.append(time.monotonic())
        return time.monotonic() - started[0] > 0.3

    with pytest.raises(PackageCancelled):
        build_package(tmp_path / "out", host=with_system_path(bin_dir), device_name="edge",
                      should_cancel=should_cancel)
    assert list((tmp_path / "out").iterdir()) == []


def test_two_packages_in_the_same_second_keep_both(tmp_path, frozen_clock):
    options = PackageOptions(["system"])
    first = build_package(tmp_path, options, device_name="edge", context=CollectContext())
    second = build_package(tmp_path, options, device_name="edge", context=CollectContext())
    assert first.path != second.path
    assert second.filename == "supportpackage-edge-20261126T100000Z-2.zip"
    from diagnostics.collect.archive import file_sha256

    assert file_sha256(first.path) == first.sha256 and file_sha256(second.path) == second.sha256
    assert not list(tmp_path.glob("*.partial"))
