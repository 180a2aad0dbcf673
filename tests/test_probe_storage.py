"""Disk and storage probes against canned hosts, and the pyudev path under umockdev."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from diagnostics import ProbeSettings, Status
from diagnostics.probes import disks, storage
from diagnostics.readers import mounts

from canned_host import canned

SDA = "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda"


@pytest.fixture
def host(tmp_path):
    return canned(tmp_path)


def test_disks_inventory_smart_and_encryption(host):
    result = disks.run(host, ProbeSettings(expected_disks=("sda", "S5GXNF0R123456")))
    assert result.status is Status.HEALTHY, result.summary
    assert result.summary == "2 disk(s) present and healthy; 1 encrypted volume(s) open"
    by_name = {d["name"]: d for d in result.details["disks"]}
    assert sorted(by_name) == ["nvme0n1", "sda"]  # loop0, dm-0 and partitions are not disks
    sda = by_name["sda"]
    assert sda["size_bytes"] == 3907029168 * 512 and sda["rotational"] is True
    assert sda["transport"] == "ata" and sda["io_errors"] == 0
    assert sda["encrypted"] == ["data_crypt"]
    assert sda["smart"]["passed"] is True
    assert by_name["nvme0n1"]["transport"] == "nvme"
    assert result.details["encrypted_volumes"][0]["type"] == "luks2"


def test_missing_expected_disk_is_unhealthy(host):
    result = disks.run(host, ProbeSettings(expected_disks=("sda", "sdb")))
    assert result.status is Status.UNHEALTHY
    assert result.summary == "Expected disk sdb is missing"


def test_smart_failure_is_unhealthy_and_bad_sectors_a_warning(host):
    failing = json.dumps({"smart_status": {"passed": False},
                          "ata_smart_attributes": {"table": [{"id": 5, "raw": {"value": 12}}]}})
    worn = json.dumps({"smart_status": {"passed": True}, "nvme_smart_health_information_log":
                       {"critical_warning": 0, "media_errors": 3}})
    host.command("smartctl", textwrap.dedent(f"""\
        for last in "$@"; do :; done
        case "$last" in
          /dev/sda) echo '{failing}'; exit 8;;
          *) echo '{worn}';;
        esac"""))
    result = disks.run(host, ProbeSettings())
    assert result.status is Status.UNHEALTHY
    assert result.summary == "sda: SMART reports the disk is failing"
    assert "replace the disk" in result.recommended_action
    nvme = next(d for d in result.details["disks"] if d["name"] == "nvme0n1")
    assert nvme["smart"]["bad_sector_counts"] == {"media errors": 3}


def test_io_error_counter_is_a_warning(host):
    host.write(f"{SDA}/device/ioerr_cnt", "0x1f")
    result = disks.run(host, ProbeSettings())
    assert result.status is Status.WARNING
    assert result.summary == "sda: 31 I/O errors since start-up"


def test_without_smartctl_the_summary_says_so(host):
    host.write("/usr/sbin/smartctl", None)
    result = disks.run(host, ProbeSettings())
    assert result.status is Status.HEALTHY
    assert "SMART not checked (smartctl is not installed)" in result.summary


def test_no_disks_in_a_container_is_not_applicable(tmp_path):
    result = disks.run(canned(tmp_path, "container"), ProbeSettings())
    assert result.status is Status.NOT_APPLICABLE
    assert "No physical disks" in result.summary


UMOCKDEV_DISKS = """\
P: /devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda
N: sda
E: DEVNAME=/dev/sda
E: DEVTYPE=disk
E: SUBSYSTEM=block
E: ID_BUS=ata
E: ID_MODEL=ST2000NM0055
E: ID_SERIAL_SHORT=ZC1ABCDE
A: size=3907029168
A: queue/rotational=1

P: /devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1
N: sda1
E: DEVNAME=/dev/sda1
E: DEVTYPE=partition
E: SUBSYSTEM=block
A: partition=1

P: /devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda2
N: sda2
E: DEVNAME=/dev/sda2
E: DEVTYPE=partition
E: SUBSYSTEM=block
E: ID_FS_TYPE=crypto_LUKS
A: partition=2

P: /devices/virtual/block/loop0
N: loop0
E: DEVNAME=/dev/loop0
E: DEVTYPE=disk
E: SUBSYSTEM=block
A: size=0
"""


@pytest.mark.skipif(shutil.which("umockdev-run") is None, reason="umockdev is not installed")
def test_disks_through_pyudev_in_a_umockdev_testbed(tmp_path):
    description = tmp_path / "disks.umockdev"
    description.write_text(UMOCKDEV_DISKS)
    script = ("import json; from diagnostics import Host, ProbeSettings; "
              "from diagnostics.probes import disks; "
              "host = Host(path_env=''); "
              "print(json.dumps({'devices': [d.sys_name for d in host.devices('block')], "
              "'result': disks.run(host, ProbeSettings(expected_disks=('ZC1ABCDE',))).to_dict()}))")
    done = subprocess.run(["umockdev-run", "-d", str(description), "--", sys.executable, "-c",
                           script], capture_output=True, text=True, timeout=60, check=True,
                          cwd=Path(__file__).parent.parent)
    answer = json.loads(done.stdout)
    assert sorted(answer["devices"]) == ["loop0", "sda", "sda1", "sda2"]
    result = answer["result"]
    assert result["status"] == "healthy", result["summary"]
    [sda] = result["details"]["disks"]
    assert (sda["name"], sda["model"], sda["serial"], sda["transport"]) == \
        ("sda", "ST2000NM0055", "ZC1ABCDE", "ata")
    assert sda["size_bytes"] == 3907029168 * 512
    assert result["details"]["locked_luks_devices"] == ["sda2"]
    assert "locked LUKS device(s): sda2" in result["summary"]


def test_storage_healthy_volumes_skip_pseudo_file_systems(host):
    result = storage.run(host, ProbeSettings(data_mounts=("/data",)))
    assert result.status is Status.HEALTHY
    points = [v["mount_point"] for v in result.details["volumes"]]
    assert points == ["/", "/boot", "/data"]  # bind mount of /data shown once, squashfs skipped


def test_full_file_system_is_unhealthy_and_nearly_full_a_warning(host):
    host.free["/data"] = (3.2, 90.0)
    host.free["/boot"] = (12.0, 90.0)
    result = storage.run(host, ProbeSettings())
    assert result.status is Status.UNHEALTHY
    assert result.summary == "/data has 3.2 % free space left"
    assert "/boot" in result.recommended_action


def test_inodes_running_out_is_a_warning(host):
    host.free["/"] = (40.0, 9.0)
    result = storage.run(host, ProbeSettings())
    assert result.status is Status.WARNING
    assert result.summary == "/ has 9 % free inodes left"


def test_thresholds_are_configurable(host):
    host.free["/data"] = (18.0, 90.0)
    settings = ProbeSettings(storage_warning_percent=20, storage_unhealthy_percent=10)
    assert storage.run(host, settings).status is Status.WARNING


def test_unexpected_read_only_mount_and_missing_data_volume(host):
    mounts = host.read_text("/proc/self/mounts").replace("/data xfs rw,", "/data xfs ro,")
    host.write("/proc/self/mounts", mounts)
    result = storage.run(host, ProbeSettings(data_mounts=("/data", "/archive")))
    assert result.status is Status.UNHEALTHY
    assert "/data is mounted read-only" in result.summary
    assert "Data volume /archive is not mounted" in result.summary
    allowed = storage.run(host, ProbeSettings(read_only_mounts=("/data",)))
    assert allowed.status is Status.HEALTHY


def test_mount_points_with_spaces_are_unescaped(host):
    host.write("/proc/self/mounts", "/dev/sdc1 /srv/finance\\040dept ext4 rw 0 0\n")
    assert mounts.volumes(host)[0]["mount_point"] == "/srv/finance dept"


def test_a_hung_mount_is_reported_and_the_others_still_measured(host, monkeypatch):
    import threading

    from diagnostics.probes import storage as storage_probe

    stuck = threading.Event()
    measured = host.statvfs

    def statvfs(mount_point):
        if mount_point == "/data":
            stuck.wait()  # a dead NFS server never answers
        return measured(mount_point)

    monkeypatch.setattr(host, "statvfs", statvfs)
    result = storage.run(host, ProbeSettings())
    stuck.set()
    assert result.status is Status.WARNING
    assert result.summary == ("/data could not be measured: no answer within "
                              f"{storage_probe.STATVFS_TIMEOUT:g} s")
    assert result.details["volumes"][0]["free_percent"] == 50.0
