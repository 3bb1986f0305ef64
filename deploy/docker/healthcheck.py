"""Container health check: is the bot's HTTP server answering on $PORT?

Asks GET /livez (the process serves; never fails because Slack or the database is down) and falls
back to GET /healthz on a build whose bot has no /livez yet (404). Exit 0 = healthy, 1 = not.
Standard library only, so the image needs no curl.
"""

import os
import sys
import urllib.error
import urllib.request

PORT = os.environ.get("PORT", "3000")


def main() -> int:
    for path in ("/livez", "/healthz"):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=4) as response:
                return 0 if response.status == 200 else 1
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                print(f"{path}: HTTP {exc.code}", file=sys.stderr)
                return 1
        except OSError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
