"""A release folder: the Kibana ndjson, a manifest and checksums, identical bytes for identical rules.

``dist/rules.ndjson`` is ``detection export`` (deprecated rules left out, no details line).
``dist/manifest.json`` lists every rule (rule_id, name, version, file, content hash and the
SHA-256 of its ndjson line). The content hash is the versioning code's ``content_hash`` (the rule's
Kibana payload without its version) when that module is part of the build, else ``sha256:`` of
the exported line; ``hash_method`` in the manifest says which. ``dist/SHA256SUMS`` holds the
digests of the other two files in ``sha256sum`` format (check with ``sha256sum -c SHA256SUMS``).
No timestamps or absolute paths are written, so a rebuild from the same sources is byte-identical.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from detection import __version__
from detection.atomic_write import write_atomic
from detection.kibana_export import RuleExport

NDJSON = "rules.ndjson"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
MANIFEST_FORMAT = 1


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hash_function() -> tuple[str, Callable[[Mapping[str, Any]], str] | None]:
    for module_name in ("detection.versioning", "detection.content_hash"):
        try:
            return "content_hash", importlib.import_module(module_name).content_hash
        except (ImportError, AttributeError):
            continue
    return "line_sha256", None


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def build_package(export: RuleExport, root: Path | None = None) -> dict[str, bytes]:
    """The files of a release: name -> bytes."""
    method, content_hash = _hash_function()
    ndjson = export.ndjson(details=False).encode("utf-8")
    rules = []
    for item in export.rules:
        line_digest = _sha256(item.line.encode("utf-8"))
        digest = content_hash(item.source.rule) if content_hash else f"sha256:{line_digest}"
        rules.append({
            "rule_id": item.source.rule_id,
            "name": item.source.name,
            "version": item.payload["version"],
            "file": _relative(item.source.path, root),
            "hash": digest,
            "line_sha256": line_digest,
        })
    manifest = {
        "format": MANIFEST_FORMAT,
        "generator": f"detection {__version__}",
        "hash_method": method,
        "rule_count": len(rules),
        "ndjson": {"file": NDJSON, "sha256": _sha256(ndjson)},
        "rules": rules,
    }
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    sums = "".join(f"{_sha256(data)}  {name}\n" for name, data in sorted({NDJSON: ndjson, MANIFEST: manifest_bytes}.items()))
    return {NDJSON: ndjson, MANIFEST: manifest_bytes, CHECKSUMS: sums.encode("utf-8")}


def write_package(files: Mapping[str, bytes], out_dir: Path | str) -> list[Path]:
    """Write the release files, each atomically; the checksums last, so they never describe stale files."""
    out = Path(out_dir)
    order = sorted(files, key=lambda name: name == CHECKSUMS)
    written = []
    for name in order:
        write_atomic(out / name, files[name])
        written.append(out / name)
    return written
