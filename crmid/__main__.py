"""``python -m crmid``: the same as the ``crmid`` command."""

import sys

from crmid.cli import main

sys.exit(main())
