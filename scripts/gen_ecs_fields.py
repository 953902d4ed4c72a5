"""Build detection/data/ecs_fields.json from the pinned @elastic/ecs npm package.

ECS is not published on PyPI; the npm package exports ``EcsFlat``, the same content as
``generated/ecs/ecs_flat.yml`` of the ECS release. This script needs ``npm`` and ``node`` and
network access to the npm registry; the generated file is committed so nothing else does.

    python scripts/gen_ecs_fields.py            # write the file
    python scripts/gen_ecs_fields.py --check    # exit 1 if the committed file is stale
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@elastic/ecs"
VERSION = "9.4.0"
OUT = Path(__file__).resolve().parent.parent / "detection" / "data" / "ecs_fields.json"

# Print the flat field table as JSON (run by node inside the unpacked package).
_DUMP_JS = "const e=require('./'); process.stdout.write(JSON.stringify({version:e.EcsVersion, flat:e.EcsFlat}))"


def fetch_flat(workdir: Path) -> tuple[str, dict]:
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=workdir, check=True, capture_output=True
    )
    tarball = next(workdir.glob("*.tgz"))
    with tarfile.open(tarball) as tar:
        tar.extractall(workdir, filter="data")
    out = subprocess.run(
        ["node", "-e", _DUMP_JS], cwd=workdir / "package", check=True, capture_output=True, text=True
    )
    data = json.loads(out.stdout)
    return data["version"], data["flat"]


def compact(flat: dict) -> dict:
    """Keep what matching and lint need: type, multi-fields, allowed values, array flag."""
    fields: dict[str, dict] = {}
    for name, spec in flat.items():
        entry: dict = {"type": spec["type"]}
        if spec.get("multi_fields"):
            entry["multi_fields"] = {m["name"]: m["type"] for m in spec["multi_fields"]}
        if spec.get("allowed_values"):
            entry["allowed_values"] = [v["name"] for v in spec["allowed_values"]]
        if "array" in (spec.get("normalize") or []):
            entry["array"] = True
        if spec.get("ignore_above"):
            entry["ignore_above"] = spec["ignore_above"]
        if spec.get("scaling_factor"):
            entry["scaling_factor"] = spec["scaling_factor"]
        fields[name] = entry
    return fields


def build() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        version, flat = fetch_flat(Path(tmp))
    return {
        "_meta": {
            "ecs_version": version,
            "source": f"npm package {PACKAGE}@{VERSION} (EcsFlat, same as ecs_flat.yml of ECS {version})",
            "licence": "Apache-2.0",
            "copyright": "Elasticsearch B.V.",
            "generator": "scripts/gen_ecs_fields.py",
        },
        "fields": compact(flat),
    }


def dumps(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    args = parser.parse_args(argv)
    text = dumps(build())
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date; run scripts/gen_ecs_fields.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text) // 1024} KB, {text.count(chr(34) + 'type' + chr(34))} fields)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
