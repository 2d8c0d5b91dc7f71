"""``python -m spenv``: the command line."""

import sys

from spenv.apps.cli import main

if __name__ == "__main__":
    sys.exit(main())
