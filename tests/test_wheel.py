"""The built wheel carries templates and static files: an installed edge-webui renders pages."""

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

CHECK = """
import sys
from pathlib import Path
import webui
from webui import create_app
package = Path(webui.__file__).parent
assert "site-packages" in str(package), package
assert (package / "templates" / "base.html").is_file()
assert (package / "static" / "vendor" / "htmx-2.0.11" / "htmx.min.js").is_file()
app = create_app({"INSTANCE": sys.argv[1], "TLS": "false"})
client = app.test_client()
page = client.get("/sign-in")
assert page.status_code == 200 and b"Sign in to" in page.data, page.status_code
assert client.get("/static/css/app.css").status_code == 200
assert client.get("/static/vendor/htmx-2.0.11/htmx.min.js").status_code == 200
print("rendered")
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "-w", str(base / "dist"), str(REPO)],
                           capture_output=True, text=True, timeout=300, cwd=base)
    assert built.returncode == 0, built.stderr
    wheel = next((base / "dist").glob("edge_webui-*.whl"))
    target = base / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    # The dependencies are those of the project's own virtualenv; only the wheel is new.
    site = next(target.glob("lib/python*/site-packages"))
    (site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = target / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300, cwd=base)
    assert done.returncode == 0, done.stderr
    return base, target


def test_installed_wheel_renders_pages(installed):
    base, target = installed
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBUI_")}
    result = subprocess.run([str(target / "bin" / "python"), "-c", CHECK, str(base / "inst")],
                            capture_output=True, text=True, timeout=120, cwd=base, env=env)
    assert result.returncode == 0, result.stderr
    assert "rendered" in result.stdout


def test_installed_console_command(installed):
    base, target = installed
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBUI_")}
    env["WEBUI_INSTANCE"] = str(base / "inst2")
    result = subprocess.run([str(target / "bin" / "edge-webui"), "init"], capture_output=True,
                            text=True, timeout=120, cwd=base, env=env)
    assert result.returncode == 0, result.stderr
    assert "One-time setup password" in result.stdout
