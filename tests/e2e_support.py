"""End-to-end support: the real server (``edge-webui serve``, gunicorn over TLS) and Chromium.

conftest imports the fixtures, so every test can ask for them. Every server aims its
diagnostic tests at loopback: nothing a test starts reaches past this machine.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "test-output"
E2E_ADMIN_PASSWORD = "granite meadow lantern 93 quiver"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


# Nothing listens on the discard port: the cloud and NTP checks are refused at once.
LOOPBACK_SETTINGS = {"NTP_SERVER": "127.0.0.1:9", "CLOUD_ENDPOINTS": "127.0.0.1:9",
                     # Only gateways of the management port are knocked at; lo has none.
                     "MANAGEMENT_INTERFACE": "lo",
                     # No web proxy: a proxy would carry the loopback targets elsewhere.
                     "PROXY_URL": "",
                     # Diagnostics run only when a test starts them.
                     "DIAGNOSTICS_SCHEDULE": "off"}
LOOPBACK_MIRROR = "deb http://127.0.0.1:9/debian bookworm main\n"


def without_webui_settings(environ=None) -> dict[str, str]:
    """The environment less every ``WEBUI_*`` setting: a test states the settings it uses."""
    return {k: v for k, v in (os.environ if environ is None else environ).items()
            if not k.startswith("WEBUI_")}


def loopback_apt_sources(directory: Path) -> Path:
    """An apt configuration (for ``APT_CONFIG``) whose only source is a loopback mirror."""
    (directory / "sources.list.d").mkdir(parents=True, exist_ok=True)
    (directory / "sources.list").write_text(LOOPBACK_MIRROR)
    config = directory / "apt.conf"
    config.write_text(f'Dir::Etc::sourcelist "{directory}/sources.list";\n'
                      f'Dir::Etc::sourceparts "{directory}/sources.list.d";\n')
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def edge_webui() -> str:
    """The console command of the Python running the tests."""
    return str(Path(sys.executable).with_name("edge-webui"))


@dataclass
class LiveServer:
    url: str
    instance: Path
    env: dict
    process: subprocess.Popen
    log: Path
    admin_password: str | None = None
    setup_password: str | None = None
    command: str = field(default_factory=edge_webui)
    extra: dict = field(default_factory=dict)

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        """Run ``edge-webui`` with this server's settings."""
        return subprocess.run([self.command, *args], env=self.env, input=input,
                              capture_output=True, text=True, timeout=60)

    def get(self, path: str, headers: dict | None = None):
        """A plain HTTPS request (certificate not checked: it is self-signed)."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(base: Path, *, admin_password: str | None = E2E_ADMIN_PASSWORD,
                 env_extra: dict | None = None, command: str | None = None) -> LiveServer:
    """Initialise an instance under ``base`` and serve it with ``command`` (the tests' own
    ``edge-webui`` unless given); wait for ``/healthz``."""
    command = command or edge_webui()
    port = free_port()
    instance = base / "instance"
    env = without_webui_settings()
    env.update({f"WEBUI_{name}": value for name, value in LOOPBACK_SETTINGS.items()})
    env.update({"WEBUI_INSTANCE": str(instance), "WEBUI_BIND": f"127.0.0.1:{port}",
                "WEBUI_DEVICE_NAME": "edge-e2e", "WEBUI_THREADS": "8", **(env_extra or {})})
    # Away from the checkout: gunicorn puts its working directory first on sys.path.
    init = subprocess.run([command, "init"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=base)
    assert init.returncode == 0, init.stderr
    setup_password = (instance / "initial-password").read_text().strip()
    if admin_password:
        done = subprocess.run([command, "set-password", "--user", "admin"], env=env,
                              input=admin_password + "\n", capture_output=True, text=True,
                              timeout=60, cwd=base)
        assert done.returncode == 0, done.stderr
    log = base / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([command, "serve"], env=env, stdout=out, cwd=base,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = LiveServer(f"https://127.0.0.1:{port}", instance, env, process, log,
                        admin_password=admin_password, setup_password=setup_password,
                        command=command)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if server.get("/healthz")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not answer /healthz: {log.read_text()}")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A served instance whose admin password is ``E2E_ADMIN_PASSWORD``."""
    server = start_server(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def browser_page(browser):
    context = browser.new_context(ignore_https_errors=True, accept_downloads=True,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, server: LiveServer, username: str = "admin", password: str | None = None):
    page.goto(server.url + "/sign-in")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(password or server.admin_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def screenshot(page, name: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the current page, as readable lines."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
