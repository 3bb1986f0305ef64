"""`python -m slack_emulator` (the bot CLI imports `main` from here for `incident-bot emulator`)."""

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
