"""``edge-webui --help`` reads as plain text."""

import pytest

from webui import cli

COMMANDS = ([], ["init"], ["serve"], ["set-password"], ["token"], ["token", "create"],
            ["support-package"], ["cert"], ["cert", "show"], ["cert", "generate"],
            ["cert", "import"])


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "edge-webui")
def test_help_has_no_markup(capsys, command):
    with pytest.raises(SystemExit) as done:
        cli.main([*command, "--help"])
    shown = capsys.readouterr().out
    assert done.value.code == 0 and "usage: edge-webui" in shown
    assert "``" not in shown and "`" not in shown
