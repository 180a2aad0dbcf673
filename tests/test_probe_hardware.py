"""Hardware probes against canned hosts: CPUs, memory, temperatures, power, accelerators."""

import pytest

from diagnostics import ProbeSettings, Status
from diagnostics.probes import compute_acceleration, cpus, memory, power_supplies, thermal

from canned_host import canned

SETTINGS = ProbeSettings()
CPU = "/sys/devices/system/cpu"
GPU = "/sys/devices/pci0000:00/0000:01:00.0"


@pytest.fixture
def host(tmp_path):
    return canned(tmp_path)


def test_cpus_online_and_lightly_loaded(host):
    result = cpus.run(host, SETTINGS)
    assert result.status is Status.HEALTHY
    assert result.summary == "4 of 4 CPUs online, load 0.55 over 5 min"


def test_offline_cpus_load_and_throttling_are_warnings(host):
    host.write(f"{CPU}/online", "0,2-3")
    host.write("/proc/loadavg", "9.10 8.50 7.00 12/400 999")
    host.write(f"{CPU}/cpu2/thermal_throttle/package_throttle_count", "17")
    result = cpus.run(host, SETTINGS)
    assert result.status is Status.WARNING
    assert "1 of 4 CPUs are offline (1)" in result.summary
    assert "Load 8.5 over 5 min is high for 3 CPUs" in result.summary
    assert "throttled" in result.summary
    assert result.details["thermal_throttle"] == {"cpu2": {"core": 0, "package": 17}}


def test_cpu_list_parsing():
    assert cpus.parse_cpu_list("0-3,6,8-9\n") == {0, 1, 2, 3, 6, 8, 9}
    assert cpus.parse_cpu_list("") == set()


def test_memory_healthy_with_edac_counters(host):
    result = memory.run(host, SETTINGS)
    assert result.status is Status.HEALTHY
    assert result.summary.startswith("73.5 % of 15.6 GiB available")
    assert result.details["edac"][0]["controller"] == "mc0"


def test_uncorrected_edac_errors_are_unhealthy(host):
    host.write("/sys/devices/system/edac/mc/mc0/ue_count", "2")
    host.write("/sys/devices/system/edac/mc/mc0/ce_count", "40")
    result = memory.run(host, SETTINGS)
    assert result.status is Status.UNHEALTHY
    assert result.summary == "2 uncorrected memory error(s)"
    assert "Replace the failing memory module" in result.recommended_action
    assert "corrected errors" in result.recommended_action


def test_corrected_edac_errors_are_a_warning(host):
    host.write("/sys/devices/system/edac/mc/mc0/ce_count", "3")
    assert memory.run(host, SETTINGS).status is Status.WARNING


def test_low_memory_swap_and_pressure(host):
    host.write("/proc/meminfo", "MemTotal: 16318460 kB\nMemAvailable: 300000 kB\n"
                                "SwapTotal: 2097148 kB\nSwapFree: 10000 kB\n")
    host.write("/proc/pressure/memory", "some avg10=40.00 avg60=35.50 avg300=20.00 total=1\n")
    result = memory.run(host, SETTINGS)
    assert result.status is Status.UNHEALTHY
    assert result.summary == "Only 1.8 % of memory is available"
    assert result.details["swap_used_percent"] == 99.5
    assert result.details["pressure_some_avg60"] == 35.5


def test_no_edac_is_said_not_faked(tmp_path):
    result = memory.run(canned(tmp_path, "container"), SETTINGS)
    assert result.status is Status.HEALTHY
    assert "no EDAC error counters" in result.summary


def test_temperatures_within_limits(host):
    result = thermal.run(host, SETTINGS)
    assert result.status is Status.HEALTHY
    assert len(result.details["sensors"]) == 3
    zone = result.details["sensors"][0]
    assert (zone["high"], zone["critical"]) == (95.0, 105.0)


def test_sensor_over_high_is_a_warning_over_critical_unhealthy(host):
    host.write("/sys/class/hwmon/hwmon1/temp2_input", "88000")
    result = thermal.run(host, SETTINGS)
    assert result.status is Status.WARNING
    assert result.summary == "coretemp Core 0 at 88 °C is above its high limit 84 °C"
    host.write("/sys/class/thermal/thermal_zone0/temp", "106000")
    result = thermal.run(host, SETTINGS)
    assert result.status is Status.UNHEALTHY
    assert "critical limit 105 °C" in result.summary
    assert "fans" in result.recommended_action


def test_no_sensors_is_not_applicable(tmp_path):
    result = thermal.run(canned(tmp_path, "container"), SETTINGS)
    assert result.status is Status.NOT_APPLICABLE
    assert "No temperature sensors" in result.summary


def test_power_on_mains_with_a_full_ups(host):
    result = power_supplies.run(host, SETTINGS)
    assert result.status is Status.HEALTHY
    assert result.details["ipmi"] == "ipmitool is not installed"


def test_running_on_ups_is_a_warning_and_low_ups_unhealthy(host):
    host.write("/sys/class/power_supply/AC/online", "0")
    host.write("/sys/class/power_supply/UPS0/status", "Discharging")
    host.write("/sys/class/power_supply/UPS0/capacity", "60")
    assert power_supplies.run(host, SETTINGS).status is Status.WARNING
    host.write("/sys/class/power_supply/UPS0/capacity", "7")
    result = power_supplies.run(host, SETTINGS)
    assert result.status is Status.UNHEALTHY
    assert result.summary == "Running on UPS0 at 7 %"


def test_discharging_ups_without_a_mains_entry_is_a_warning(host):
    host.write("/sys/class/power_supply/AC", None)
    host.write("/sys/class/power_supply/UPS0/status", "Discharging")
    result = power_supplies.run(host, SETTINGS)
    assert result.status is Status.WARNING
    assert result.summary == "Running on UPS0 at 100 %"


def test_ipmi_power_supply_failure_is_unhealthy(host):
    host.write("/dev/ipmi0", "")
    host.command("ipmitool", "printf '%s\\n' "
                 "'PS1 Status       | C8h | ok  | 10.1 | Presence detected' "
                 "'PS2 Status       | C9h | ok  | 10.2 | Presence detected, Failure detected'")
    result = power_supplies.run(host, SETTINGS)
    assert result.status is Status.UNHEALTHY
    assert result.summary == "PS2 Status: Presence detected, Failure detected"
    assert [s["failed"] for s in result.details["ipmi"]] == [False, True]


def test_no_power_supplies_is_not_applicable(tmp_path):
    result = power_supplies.run(canned(tmp_path, "container"), SETTINGS)
    assert result.status is Status.NOT_APPLICABLE


def test_gpu_with_driver_is_healthy(host):
    result = compute_acceleration.run(host, SETTINGS)
    assert result.status is Status.HEALTHY
    [gpu] = result.details["devices"]  # the SATA controller (class 0x0106) is not one
    assert (gpu["vendor"], gpu["kind"], gpu["driver"]) == \
        ("NVIDIA", "display controller", "nvidia")


def test_accelerator_without_driver_is_a_warning(host):
    host.write(f"{GPU}/driver", None)
    host.write("/sys/devices/pci0000:00/0000:05:00.0/class", "0x120000")
    host.write("/sys/devices/pci0000:00/0000:05:00.0/vendor", "0x1e52")
    host.write("/sys/devices/pci0000:00/0000:05:00.0/device", "0x401e")
    host.path("/sys/bus/pci/devices/0000:05:00.0").symlink_to(
        "../../../devices/pci0000:00/0000:05:00.0")
    result = compute_acceleration.run(host, SETTINGS)
    assert result.status is Status.WARNING
    assert "NVIDIA display controller at 0000:01:00.0 has no driver loaded" in result.summary
    assert "Tenstorrent processing accelerator" in result.summary


def test_no_accelerator_is_not_applicable(tmp_path):
    result = compute_acceleration.run(canned(tmp_path, "container"), SETTINGS)
    assert result.status is Status.NOT_APPLICABLE
    assert "No GPU or accelerator" in result.summary
