"""Container health check: is the bot's HTTP server answering on $PORT?

Asks GET /livez: the process serves. It never fails because Slack or the database is down (that
is /readyz), so a dependency outage does not get the container restarted. Exit 0 = healthy,
1 = not. Standard library only, so the image needs no curl.
"""

import os
import sys
import urllib.error
import urllib.request

PORT = os.environ.get("PORT", "3000")


def main() -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/livez", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"/livez: HTTP {exc.code}", file=sys.stderr)
    except OSError as exc:
        print(f"/livez: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
