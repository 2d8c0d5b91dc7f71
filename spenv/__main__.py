"""``python -m spenv``: the command line."""

import sys

from spenv.cli import main

if __name__ == "__main__":
    sys.exit(main())
