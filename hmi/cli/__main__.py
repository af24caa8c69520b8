"""`python -m hmi.cli`: the same entry point as the `hmi` console script."""

import sys

from hmi.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
