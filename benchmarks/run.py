"""Run every benchmark module (benchmarks/bench_*.py) and print its ratios.

Each module has a ``main() -> dict`` that measures the thing and a reference in the same run
and prints a short report; the returned dict (figures by name) is collected into one summary,
written as JSON when ``--json FILE`` is given. Run through ``nox -s bench``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help="benchmark names to run (default: all), e.g. kql lint")
    parser.add_argument("--json", type=Path, help="write all figures to this file")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    summary: dict[str, object] = {}
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        figures = load(path).main()
        summary[name] = figures
        print(f"   ({time.perf_counter() - started:.1f} s)\n", flush=True)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
