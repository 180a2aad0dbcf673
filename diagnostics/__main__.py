"""``python -m diagnostics [--json] [--test ID ...] [--list]``."""

import sys

from diagnostics.cli import main

sys.exit(main(sys.argv[1:]))
