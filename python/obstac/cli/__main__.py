"""``python -m obstac.cli``: the ``obstac`` command."""

import sys

from obstac.cli import main

sys.exit(main())
