from pathlib import Path

import pytest

from webui import config


def test_defaults(tmp_path):
    values = config.load({"INSTANCE": str(tmp_path)}, environ={})
    assert values["BIND"] == ("127.0.0.1", 8443)
    assert values["POWER_BACKEND"] == "dry-run"
    assert values["TLS_CERT"] == str(tmp_path / "tls" / "cert.pem")


def test_environment_beats_file_and_file_beats_default(tmp_path):
    (tmp_path / "config.toml").write_text('bind = "0.0.0.0:9443"\nsupport_keep = 7\n'
                                          'copylog_roots = ["/a", "/b"]\n')
    values = config.load(environ={"WEBUI_INSTANCE": str(tmp_path), "WEBUI_SUPPORT_KEEP": "3"})
    assert values["BIND"] == ("0.0.0.0", 9443)
    assert values["SUPPORT_KEEP"] == 3
    assert values["COPYLOG_ROOTS"] == ["/a", "/b"]


def test_explicit_config_file_must_exist(tmp_path):
    with pytest.raises(config.ConfigError, match="WEBUI_CONFIG"):
        config.load(environ={"WEBUI_INSTANCE": str(tmp_path),
                             "WEBUI_CONFIG": str(tmp_path / "missing.toml")})


def test_every_setting_is_documented_in_the_readme():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for setting in config.SETTINGS:
        assert f"`WEBUI_{setting.name}`" in readme, setting.name


def test_bad_cloud_endpoint_stops_start_up(tmp_path):
    with pytest.raises(config.ConfigError, match="WEBUI_CLOUD_ENDPOINTS"):
        config.load(environ={"WEBUI_INSTANCE": str(tmp_path),
                             "WEBUI_CLOUD_ENDPOINTS": "example.com:notaport"})
