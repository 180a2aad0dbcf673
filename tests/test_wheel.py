"""The wheel, installed with its real dependencies into a fresh virtualenv, serves its pages.

``make test`` builds that virtualenv before the tests go offline (``make wheel-venv``) and names
it in ``TEST_WHEEL_VENV``; without it there is nothing to install from, and the tests say so.
"""

import os
import subprocess
from pathlib import Path

import pytest

from e2e_support import start_server

pytestmark = pytest.mark.e2e

WHERE_FROM = """
from pathlib import Path
import webui
package = Path(webui.__file__).parent
print(package)
print((package / "templates" / "base.html").is_file())
"""


@pytest.fixture(scope="module")
def wheel_venv() -> Path:
    prepared = os.environ.get("TEST_WHEEL_VENV")
    if not prepared or not (Path(prepared) / "bin" / "edge-webui").is_file():
        pytest.skip("no virtualenv with the installed wheel: `make wheel-venv` builds one "
                    "(it needs the package index) and `make test` names it in TEST_WHEEL_VENV")
    return Path(prepared).resolve()


def test_installed_wheel_is_a_real_install_with_its_dependencies(wheel_venv, tmp_path):
    python = str(wheel_venv / "bin" / "python")
    # Run away from the checkout, whose own webui/ would shadow the installed one.
    where = subprocess.run([python, "-c", WHERE_FROM], capture_output=True, text=True,
                           timeout=60, check=True, cwd=tmp_path).stdout.split("\n")
    assert Path(where[0]).is_relative_to(wheel_venv) and "site-packages" in where[0]
    assert where[1] == "True"  # templates travel inside the wheel
    checked = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True,
                             timeout=120, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_installed_wheel_serves_the_sign_in_page_over_tls(wheel_venv, tmp_path):
    server = start_server(tmp_path, admin_password=None,
                          command=str(wheel_venv / "bin" / "edge-webui"))
    try:
        assert server.setup_password
        status, body = server.get("/sign-in")
        assert status == 200 and b"Sign in to" in body
        assert server.get("/static/css/app.css")[0] == 200
        assert server.get("/static/vendor/htmx-2.0.11/htmx.min.js")[0] == 200
    finally:
        server.stop()
