"""The house rules of the code, checked: no import cycles, services free of Flask's request
globals, ``diagnostics`` free of the web, and apps that share nothing."""

from __future__ import annotations

import ast
from pathlib import Path

from webui import db, shell
from webui.auth import users

from conftest import ADMIN_PASSWORD, AuthActions, make_app

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("webui", "diagnostics")
# Names a service never takes from Flask: what it needs comes in as arguments.
REQUEST_GLOBALS = {"request", "g", "session", "current_app", "current_user"}
# Plain-Python modules besides every service.py: the model and rules of a feature.
SERVICE_MODULES = (
    "webui/audit/service.py",
    "webui/auth/lockout.py",
    "webui/auth/passwords.py",
    "webui/auth/sessions.py",
    "webui/auth/tokens.py",
    "webui/auth/users.py",
    "webui/connectivity/hooks.py",
    "webui/connectivity/policy.py",
    "webui/connectivity/state.py",
    "webui/copylogs/export.py",
    "webui/copylogs/indexer.py",
    "webui/copylogs/model.py",
    "webui/copylogs/queries.py",
    "webui/support/packages.py",
    "webui/support/tickets.py",
    "webui/support/upload.py",
    "webui/support/usb.py",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES
            for path in sorted((REPO / package).rglob("*.py"))}


def _imports(path: Path, module: str, known: set[str], top_level_only: bool) -> set[str]:
    """The project modules ``path`` imports (at module level only, if asked)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            # ``from package import module`` needs the module; any other name needs the
            # package's __init__ (or the module named) itself.
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            names = submodules + ([base] if not all(n in known for n in submodules) else [])
        else:
            continue
        found.update(name for name in names if name in known)
    found.discard(module)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_in_webui_or_diagnostics():
    sources = _sources()
    assert len(sources) > 50
    known = set(sources)
    graph = {module: _imports(path, module, known, top_level_only=True)
             for module, path in sources.items()}
    # A package imports the modules it re-exports; a module importing its own package's
    # __init__ for a name is the cycle to catch.
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_diagnostics_imports_nothing_of_the_web():
    offenders = []
    for path in sorted((REPO / "diagnostics").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.relative_to(REPO)}: {name}" for name in names
                          if name.split(".")[0] in ("webui", "flask", "flask_login", "werkzeug")]
    assert offenders == []


def test_services_never_touch_the_request():
    paths = sorted(REPO.glob("webui/**/service.py")) + [REPO / name for name in SERVICE_MODULES]
    assert len(paths) > 20
    offenders = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module in ("flask", "flask_login"):
                offenders += [f"{path.relative_to(REPO)}: {alias.name}" for alias in node.names
                              if alias.name in REQUEST_GLOBALS]
    assert offenders == []


def test_two_apps_in_one_process_share_nothing(tmp_path):
    first = make_app(tmp_path / "one", DEVICE_NAME="edge-one")
    second = make_app(tmp_path / "two", DEVICE_NAME="edge-two", POWER_BACKEND="systemd")
    try:
        assert shell.of(first) is not shell.of(second)
        shell.add_banner(first, lambda: {"level": "info", "title": "Only on the first.",
                                         "text": "A banner of one app."})
        shell.add_section(first, "Extra", "dashboard.hardware", "Device", 90)
        pages = {}
        for app in (first, second):
            with app.app_context():
                users.create(db.get_db(), "admin", ADMIN_PASSWORD, "administrator",
                             must_change=False)
            client = app.test_client()
            AuthActions(client).sign_in()
            pages[app.config["DEVICE_NAME"]] = client.get("/").get_data(as_text=True)
        one, two = pages["edge-one"], pages["edge-two"]
        assert "Only on the first." in one and "Only on the first." not in two
        assert ">Extra<" in one and ">Extra<" not in two
        # Each app says its own name and its own settings (the dry-run banner only where the
        # power backend is simulated).
        assert "edge-one" in one and "edge-two" not in one
        assert "edge-two" in two and "edge-one" not in two
        assert "Power actions are simulated." in one
        assert "Power actions are simulated." not in two
        assert first.extensions["jobs"] is not second.extensions["jobs"]
        assert first.extensions["last_seen"] is not second.extensions["last_seen"]
        assert first.extensions["checked_tokens"] is not second.extensions["checked_tokens"]
        assert first.login_manager is not second.login_manager
        assert first.extensions["csrf"] is not second.extensions["csrf"]
    finally:
        for app in (first, second):
            app.extensions["last_seen"].close()
            app.extensions["jobs"].shutdown()
