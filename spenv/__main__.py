import sys

from spenv.cli import main

sys.exit(main())
