"""Entry point of the frozen `hmi` executable: the same `main()` as the console script.

`freeze_support()` first: `hmi bench` starts helper processes with multiprocessing, and a frozen
child must run the child's code, not parse `sys.argv` as a command line.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from hmi.cli.main import main

    sys.exit(main())
