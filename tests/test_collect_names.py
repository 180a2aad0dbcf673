"""Support packages and the names of the host: odd file names, user names, same-second
packages, a cancel that comes after the last item."""

import json
import os
import re
import threading
import unicodedata
import zipfile
from pathlib import Path

import pytest

from diagnostics.collect import (
    CollectContext,
    ExtraItem,
    PackageCancelled,
    PackageOptions,
    build_package,
    prune,
    read_manifest,
)
from diagnostics.collect import package as package_module
from diagnostics.collect.manifest import build_manifest
from diagnostics.host import Host
from diagnostics.names import display_name, is_plain, safe_name

ODD_NAMES = [b"share\xff.xml", b"line\r\nbreak.log", b'quote"semi;colon.log',
             "evil\u202egol.txt".encode(), b"\xc3(\xa0\xa1 latin1 caf\xe9.log"]


def write_bytes_named(directory: bytes, name: bytes, content: bytes) -> bytes:
    path = directory + b"/" + name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    return path


def deep_directory(root: Path, total_bytes: int) -> bytes:
    """A directory whose path below ``root`` is about ``total_bytes`` long."""
    path = os.fsencode(root)
    part = 0
    while len(path) < os.fsencode(root).__len__() + total_bytes - 260:
        part += 1
        path += b"/" + bytes([0x61 + part % 26]) * 240
        os.mkdir(path)
    return path


def file_items(manifest: dict) -> list[dict]:
    return [i for c in manifest["collectors"] for i in c["items"] if i["kind"] == "file"]


def test_copy_logs_with_any_file_name_are_taken_under_safe_names(tmp_path):
    root = tmp_path / "logs"
    (root / "share1").mkdir(parents=True)
    share = os.fsencode(root / "share1")
    real = {write_bytes_named(share, name, b"content of " + name.hex().encode() + b"\n"): name
            for name in ODD_NAMES}
    deep = write_bytes_named(deep_directory(root, 4000), b"\x01deep\xfe.log", b"deep\n")
    real[deep] = b"\x01deep\xfe.log"
    assert len(deep) - len(os.fsencode(root)) > 3800

    info = build_package(tmp_path / "out", PackageOptions(["copylogs"]), device_name="edge",
                         context=CollectContext(copylog_roots=[root]))

    with zipfile.ZipFile(info.path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    items = {bytes.fromhex(i["source_hex"]) if i["source_hex"] else i["source"].encode(): i
             for i in file_items(info.manifest)}
    assert set(items) == set(real)
    for path, name in real.items():
        item = items[path]
        assert item["status"] == "collected", item
        assert item["source"] == display_name(path)
        assert (item["source_hex"] is None) == is_plain(path)
        assert members[item["name"]] == (b"deep\n" if path == deep
                                         else b"content of " + name.hex().encode() + b"\n")
    for member in members:
        assert all(unicodedata.category(c) not in ("Cc", "Cf", "Cs") for c in member), member
        assert all(len(part.encode()) <= 200 for part in member.split("/")), member
    assert members["copylogs/1-logs/share1/share_.xml"].startswith(b"content of")
    assert read_manifest(info.path) == json.loads(json.dumps(info.manifest))


def test_plain_names_keep_their_names_and_carry_no_bytes(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "webui.log").write_text("started\n")
    info = build_package(tmp_path / "out", PackageOptions(["webui_log"]), device_name="edge",
                         context=CollectContext(log_dir=tmp_path / "logs"))
    [item] = file_items(info.manifest)
    assert item["name"] == "webui_log/webui.log" and item["source_hex"] is None


@pytest.mark.parametrize(("name", "plain", "safe"), [
    (b"share\xff.xml", False, "share_.xml"),
    ("line\r\n.log", False, "line__.log"),
    ("evil\u202egol.txt", False, "evil_gol.txt"),
    ('a"b;c.log', True, 'a"b;c.log'),
    ("caf\u00e9.log", True, "caf\u00e9.log"),
    (os.fsdecode(b"x\xfe.log"), False, "x_.log"),
])
def test_host_names_as_text(name, plain, safe):
    assert is_plain(name) is plain
    assert safe_name(name) == safe
    assert "\ufffd" in display_name(name) or plain


def test_a_name_of_4000_bytes_is_cut_keeping_its_extension():
    assert safe_name("x" * 4000 + ".log") == "x" * 196 + ".log"


PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
edge-webui:x:998:998::/var/lib/edge-webui:/usr/sbin/nologin
alice:x:1000:1000:Alice Field:/home/alice:/bin/bash
opsbob:x:1001:1001::/home/opsbob:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""


def test_obfuscation_maps_the_people_of_the_host_and_keeps_system_accounts(tmp_path):
    host_root = tmp_path / "host"
    (host_root / "etc").mkdir(parents=True)
    (host_root / "etc" / "passwd").write_text(PASSWD)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "alice.log").write_text("session opened for user alice by root\n"
                                    "opsbob: sudo daemon restart; Opsbob again\n")
    info = build_package(tmp_path / "out", PackageOptions(["webui_log"], obfuscate=True),
                         host=Host(host_root), device_name="edge",
                         context=CollectContext(log_dir=logs,
                                                obfuscation_map_path=tmp_path / "map.json"))
    with zipfile.ZipFile(info.path) as archive:
        everything = b"\n".join([*(archive.read(n) for n in archive.namelist()),
                                 *(n.encode() for n in archive.namelist())])
    for person in (b"alice", b"opsbob"):
        assert not re.search(rb"(?i)\b" + person + rb"\b", everything), person
    assert b"by root" in everything and b"sudo daemon restart" in everything
    mapping = json.loads((tmp_path / "map.json").read_text())["user"]
    assert set(mapping) == {"alice", "opsbob"}


def test_pruning_goes_by_the_recorded_time_never_by_the_name(tmp_path):
    names = ["supportpackage-edge-20261126T100000Z.zip"] + [
        f"supportpackage-edge-20261126T100000Z-{n}.zip" for n in range(2, 16)]
    for name in names:
        (tmp_path / name).write_bytes(b"zip")
    made_at = {name: 1000.0 + number for number, name in enumerate(names)}
    removed = prune(tmp_path, 5, made_at, protect=[names[0]])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], *names[-5:]])
    assert {p.name for p in removed} == set(names[1:-5])


def test_a_cancel_after_the_last_item_leaves_nothing(tmp_path, monkeypatch):
    cancelled = threading.Event()

    def manifest_then_cancel(**fields):
        cancelled.set()
        return build_manifest(**fields)

    monkeypatch.setattr(package_module, "build_manifest", manifest_then_cancel)
    with pytest.raises(PackageCancelled):
        build_package(tmp_path / "out", PackageOptions(["audit"]), device_name="edge",
                      context=CollectContext(extra_items={"audit": [
                          ExtraItem("last.txt", lambda: [b"the last bytes\n"])]}),
                      should_cancel=cancelled.is_set)
    assert list((tmp_path / "out").iterdir()) == []
