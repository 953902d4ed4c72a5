"""detection package: ndjson, manifest and checksums, byte-identical from the same sources."""

from __future__ import annotations

import hashlib
import json

from detection.cli import main
from detection.kibana_export import export_paths
from detection.loader import load_rule_file
from detection.package import CHECKSUMS, MANIFEST, NDJSON, build_package, write_package
from tests.conftest import REPO, SEED_RULE
from tests.kibana_helpers import rule_doc, write_rule


def test_package_files_and_manifest(tmp_path):
    write_rule(tmp_path, "extra", rule_doc(rule_id="extra-1", name="Extra", version=3))
    export = export_paths([SEED_RULE, tmp_path])
    files = build_package(export, root=REPO)
    assert set(files) == {NDJSON, MANIFEST, CHECKSUMS}
    assert files[NDJSON].decode() == export.ndjson()
    manifest = json.loads(files[MANIFEST])
    assert manifest["rule_count"] == 2
    assert manifest["ndjson"] == {"file": NDJSON, "sha256": hashlib.sha256(files[NDJSON]).hexdigest()}
    entries = {r["rule_id"]: r for r in manifest["rules"]}
    seed = entries["93075852-b0f5-4b8b-89c3-a226efae5726"]
    assert (seed["name"], seed["version"]) == ("AWS STS AssumeRole Usage", load_rule_file(SEED_RULE).version)
    assert seed["file"] == "rules/aws/privilege_escalation_sts_assumerole_usage.yaml"
    assert entries["extra-1"]["version"] == 3 and entries["extra-1"]["file"] == "extra.yaml"
    for item, line in zip(manifest["rules"], files[NDJSON].decode().splitlines(), strict=True):
        assert item["line_sha256"] == hashlib.sha256(line.encode()).hexdigest()
        assert item["hash"].startswith("sha256:") and len(item["hash"]) == 71
    assert manifest["hash_method"] in ("content_hash", "line_sha256")
    sums = files[CHECKSUMS].decode().splitlines()
    assert sums == [f"{hashlib.sha256(files[name]).hexdigest()}  {name}" for name in (MANIFEST, NDJSON)]


def test_same_sources_give_the_same_bytes(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    write_package(build_package(export_paths([SEED_RULE]), root=REPO), first)
    write_package(build_package(export_paths([SEED_RULE]), root=REPO), second)
    for name in (NDJSON, MANIFEST, CHECKSUMS):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert sorted(p.name for p in first.iterdir()) == sorted([NDJSON, MANIFEST, CHECKSUMS])


def test_a_changed_rule_changes_its_hash(tmp_path):
    write_rule(tmp_path, "r", rule_doc())
    before = json.loads(build_package(export_paths([tmp_path]))[MANIFEST])["rules"][0]["hash"]
    write_rule(tmp_path, "r", rule_doc(query="event.action:Other"))
    after = json.loads(build_package(export_paths([tmp_path]))[MANIFEST])["rules"][0]["hash"]
    assert before != after


def test_cli_package(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    out = tmp_path / "dist"
    assert main(["package", str(SEED_RULE), "-o", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {NDJSON, MANIFEST, CHECKSUMS}
    listed = dict(reversed(line.split("  ")) for line in (out / CHECKSUMS).read_text().splitlines())
    for name, digest in listed.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    bad = write_rule(tmp_path / "bad", "bad", rule_doc(timeline_id="x"))
    assert main(["package", str(bad), "-o", str(tmp_path / "dist2")]) == 1
    assert not (tmp_path / "dist2").exists()
    assert "K104" in capsys.readouterr().err
