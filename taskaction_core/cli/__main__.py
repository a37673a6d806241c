"""``python -m taskaction_core.cli``: the same as the ``taskaction`` console script."""

import sys

from taskaction_core.cli import main

sys.exit(main())
