"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from detection.config import load_config
from detection.diagnostics import DetectionError, Diagnostic


def add_rules_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules-dir", type=Path, default=None,
                   help="folder of rules (default: [tool.detection] rules-dir, else rules/)")


def add_format_option(p: argparse.ArgumentParser, choices: tuple[str, ...] = ("text", "json")) -> None:
    p.add_argument("--format", choices=choices, default="text", help="output format (default: text)")


def rule_paths(args: argparse.Namespace) -> list[Path]:
    """Paths given on the command line, else the configured rule folders."""
    if getattr(args, "paths", None):
        return list(args.paths)
    config = load_config(rules_dir=getattr(args, "rules_dir", None))
    return list(config.rules_dirs)


def require_existing(paths: Iterable[Path]) -> None:
    """Raise the "no such file or directory" diagnostics of the paths that do not exist, if any
    (``detection.cli.main`` prints them and exits 2)."""
    from detection.loader import missing_paths  # late: the rule loader is heavy, and match rarely needs it

    missing = missing_paths(list(paths))
    if missing:
        raise DetectionError(missing)


def existing_rule_paths(args: argparse.Namespace) -> list[Path]:
    """``rule_paths(args)``, every one of which exists (else DetectionError, as ``require_existing``)."""
    paths = rule_paths(args)
    require_existing(paths)
    return paths


def print_diagnostics(diags: Iterable[Diagnostic], fmt: str = "text", stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    diags = list(diags)
    if fmt == "json":
        json.dump([d.to_json() for d in diags], stream, indent=2)
        stream.write("\n")
        return
    for d in diags:
        stream.write(d.format() + "\n")
