"""Allow ``python -m mpsverify``."""

import sys

from .cli import main

sys.exit(main())
