"""``python -m osv_idioms``: see ``osv_idioms._cli``."""

import sys

from ._cli import run

sys.exit(run())
