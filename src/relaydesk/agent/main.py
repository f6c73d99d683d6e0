"""relaydesk-agent command line. The agent proper arrives with the attended-sessions work."""

import argparse

from relaydesk import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relaydesk-agent", description="relaydesk agent")
    parser.add_argument("--version", action="version", version=f"relaydesk-agent {__version__}")
    parser.parse_args(argv)
    print(f"relaydesk-agent {__version__}: no mode implemented yet; see issue 3")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
