#!/usr/bin/env python3
"""Regenerate ``detection/data/aws_api.json.gz``: CloudTrail eventSource -> AWS API operation names.

CloudTrail's ``eventName`` is, for API calls, the operation name from the service's API model, and
``eventSource`` is ``<endpointPrefix>.amazonaws.com`` (sometimes the SigV4 signing name instead, as for
the Bedrock runtime APIs, which CloudTrail logs under ``bedrock.amazonaws.com``). botocore ships
every service model, so a pinned botocore wheel gives the full table offline. Loading all ~420
models takes seconds, so lint reads this small generated table instead and never imports botocore.

For each service (its newest API version, as botocore itself uses) the operations are filed under
every event source the service can appear as: endpointPrefix, signingName and globalEndpoint, each
as ``<name>.amazonaws.com``. Services sharing a source (rds/neptune/docdb, ses/sesv2...) are merged.

    python scripts/gen_aws_api.py                  # pip download the pinned wheel, write the table
    python scripts/gen_aws_api.py --wheel X.whl    # use a local wheel
    python scripts/gen_aws_api.py --check          # exit 1 if the shipped table is stale

Events that are not API operations (console sign-in, service events, S3 names that differ from the
API) are hand-listed in ``detection/data/aws_extra_events.json``, not here.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # run as `python scripts/...` it is; loaded from its path by a test it is not
    sys.path.insert(0, _HERE)
from _pinned import GenerationError, pip_download, sha256_file  # noqa: E402

BOTOCORE_VERSION = "1.43.11"
LICENSE = "Apache-2.0"
COPYRIGHT = "botocore: Copyright 2012-2022 Amazon.com, Inc. or its affiliates. All Rights Reserved."
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "detection" / "data" / "aws_api.json.gz"
MODEL_NAMES = ("service-2.json.gz", "service-2.json")


def wheel_version(wheel: zipfile.ZipFile) -> str:
    for name in wheel.namelist():
        if name.endswith(".dist-info/METADATA"):
            for line in wheel.read(name).decode("utf-8").splitlines():
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    raise GenerationError("wheel has no METADATA with a Version line")


def newest_models(names: list[str]) -> dict[str, str]:
    """Map service name -> zip member of its newest API version's model."""
    found: dict[str, tuple[str, str]] = {}
    for name in names:
        parts = name.split("/")
        # botocore/data/<service>/<api-version>/service-2.json[.gz]
        if len(parts) != 5 or parts[:2] != ["botocore", "data"] or parts[4] not in MODEL_NAMES:
            continue
        service, api_version = parts[2], parts[3]
        best = found.get(service)
        # ISO dates sort as strings; prefer .json.gz over .json for the same version (same content).
        if best is None or api_version > best[0] or (api_version == best[0] and name.endswith(".gz")):
            found[service] = (api_version, name)
    return {service: member for service, (_, member) in sorted(found.items())}


def event_sources(metadata: dict) -> list[str]:
    """Every CloudTrail eventSource a service's calls may be logged under."""
    sources = set()
    for key in ("endpointPrefix", "signingName"):
        if metadata.get(key):
            sources.add(f"{metadata[key]}.amazonaws.com")
    if metadata.get("globalEndpoint"):
        sources.add(metadata["globalEndpoint"])
    return sorted(sources)


def read_model(wheel: zipfile.ZipFile, member: str) -> dict:
    raw = wheel.read(member)
    if member.endswith(".gz"):
        raw = gzip.decompress(raw)
    return json.loads(raw)


def build_table(wheel_path: Path, *, min_services: int = 300) -> dict:
    with zipfile.ZipFile(wheel_path) as wheel:
        version = wheel_version(wheel)
        if version != BOTOCORE_VERSION:
            raise GenerationError(f"{wheel_path.name} is botocore {version}, this script pins {BOTOCORE_VERSION}")
        models = newest_models(wheel.namelist())
        if len(models) < min_services:
            raise GenerationError(f"only {len(models)} service models found; is this really botocore?")
        operations: dict[str, set[str]] = defaultdict(set)
        services: dict[str, set[str]] = defaultdict(set)
        for service, member in models.items():
            model = read_model(wheel, member)
            ops = set(model.get("operations", {}))
            for source in event_sources(model.get("metadata", {})):
                operations[source] |= ops
                services[source].add(service)
        # A stable "as of" date: the newest timestamp of the model files in the wheel.
        stamp = max(wheel.getinfo(m).date_time for m in models.values())
    return {
        "_meta": {
            "botocore_version": BOTOCORE_VERSION,
            "botocore_wheel_sha256": sha256_file(wheel_path),
            "models_date": "{:04d}-{:02d}-{:02d}".format(*stamp[:3]),
            "license": LICENSE,
            "copyright": COPYRIGHT,
            "generated_by": "scripts/gen_aws_api.py",
            "api_versions": "newest API version of each service, as botocore loads by default",
            "event_source_rule": "<endpointPrefix>.amazonaws.com, <signingName>.amazonaws.com and globalEndpoint",
            "counts": {
                "services": len(models),
                "event_sources": len(operations),
                "operations": sum(len(v) for v in operations.values()),
            },
        },
        "sources": {source: sorted(ops) for source, ops in sorted(operations.items())},
        "services": {source: sorted(names) for source, names in sorted(services.items())},
    }


def render(table: dict) -> bytes:
    """Key-sorted compact JSON, gzipped with a zero timestamp so identical input gives identical bytes."""
    text = json.dumps(table, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"local botocore {BOTOCORE_VERSION} wheel")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="gen_aws_api_") as tmp:
            wheel = args.wheel or pip_download(f"botocore=={BOTOCORE_VERSION}", Path(tmp))
            data = render(build_table(wheel))
    except (GenerationError, zipfile.BadZipFile, OSError) as exc:
        print(f"gen_aws_api: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.out.read_bytes() if args.out.exists() else b""
        if current != data:
            print(f"gen_aws_api: {args.out} is out of date; run scripts/gen_aws_api.py", file=sys.stderr)
            return 1
        print(f"gen_aws_api: {args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"gen_aws_api: wrote {args.out} ({len(data):,} bytes gzipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
