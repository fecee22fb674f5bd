"""`python -m comicforge`."""

import sys

from comicforge.cli import main

sys.exit(main())
