"""Run as a script: capture the screen with vncdotool (a standard client) in a chosen encoding.

python tests/screen/vncdotool_capture.py 127.0.0.1::5900 PASSWORD|- raw|zrle OUT.png
"""

from __future__ import annotations

import sys

from vncdotool import api, rfb
from vncdotool.client import VNCDoToolClient


def main() -> int:
    server, password, encoding, out = sys.argv[1:5]
    VNCDoToolClient.encoding = {"raw": rfb.Encoding.RAW, "zrle": rfb.Encoding.ZRLE}[encoding]
    client = api.connect(server, password=None if password == "-" else password, timeout=60)
    try:
        client.captureScreen(out)
    finally:
        client.disconnect()
        api.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
