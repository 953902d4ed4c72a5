"""Command line: parse arguments, call the library, print, choose the exit code.

Each subcommand lives in ``detection/commands/<name>.py`` and provides
``register(subparsers) -> argparse.ArgumentParser``; the parser's ``func`` default is
called with the parsed arguments and returns the exit code. Exit codes: 0 ok,
1 findings, 2 usage or unreadable input.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from detection import __version__
from detection.diagnostics import DetectionError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

# Order is the order shown in --help.
COMMANDS: tuple[str, ...] = (
    "validate",
    "lint",
    "match",
    "backtest",
    "test",
    "export",
    "import",
    "docs",
    "package",
    "history",
    "show",
    "bump",
    "check",
    "changelog",
    "new",
    "fmt",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its wording short
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``command`` only that subcommand's (the others' modules are not
    imported, which keeps start-up short)."""
    parser = _Parser(prog="detection", description="Detection-as-code for Elastic Security.")
    parser.add_argument("--version", action="version", version=f"detection {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an internal error (also: DETECTION_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS if command is None else (command,):
        module = importlib.import_module(f"detection.commands.{name}")
        module.register(sub)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand on the command line (global options have no values, so it is the first
    word that is not an option), if it is a known one."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    _tolerate_narrow_encodings()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except DetectionError as exc:  # input a command cannot use: located diagnostics, exit 2
        from detection.commands.common import print_diagnostics

        print_diagnostics(exc.diagnostics, stream=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug, reported without a dump
        return _internal_error(exc, debug=args.debug or os.environ.get("DETECTION_DEBUG", "") not in ("", "0"))


def _tolerate_narrow_encodings() -> None:
    """On a stream that is not UTF-8 (a Windows pipe, PYTHONIOENCODING=ascii), write the characters
    it lacks (the explanation's check marks, event values) as escapes instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding not in ("utf8", "utf8sig") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _internal_error(exc: Exception, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"detection: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    print("please report this with the command line" + ("" if debug else
          " (run again with --debug or DETECTION_DEBUG=1 for the traceback)"), file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
