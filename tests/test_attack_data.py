"""ATT&CK data: facts of the shipped v19.1 table, the threat validator, and the generator's reduction."""

from __future__ import annotations

import copy
import importlib.util
import json

import pytest

from detection import attack
from detection.attack import FINDING_KINDS, AttackData, check_threat, load_attack

from .conftest import REPO


@pytest.fixture(scope="module")
def data() -> AttackData:
    return load_attack()


# --- the shipped data ------------------------------------------------------------------------------


def test_pinned_release_and_provenance(data: AttackData) -> None:
    assert data.version == "19.1"
    source = data.meta["source"]
    assert source["package"] == "sigmalint-cli==0.1.7"
    assert source["sha256"] == "fc783039f17fba646f79448f1322996457c658a9474f6d14c3bc924a2cf1c97d"
    assert "The MITRE Corporation" in data.meta["terms"]
    assert len(data.tactics) == 15
    assert len(data.techniques) == 858


def test_ta0005_is_stealth_in_v19(data: AttackData) -> None:
    tactic = data.tactic("TA0005")
    assert tactic is not None
    assert (tactic.name, tactic.shortname) == ("Stealth", "stealth")
    assert tactic.url == "https://attack.mitre.org/tactics/TA0005"
    assert data.tactic_by_name("stealth") == tactic
    assert data.tactic_by_name("STEALTH") == tactic
    assert data.tactic_by_name("Defense Evasion") is None
    impairment = data.tactic("TA0112")
    assert impairment is not None and impairment.name == "Defense Impairment"


def test_cloud_accounts_is_subtechnique_of_valid_accounts(data: AttackData) -> None:
    sub = data.technique("T1078.004")
    assert sub is not None
    assert sub.subtechnique and sub.parent == "T1078"
    assert sub.name == "Cloud Accounts"
    assert "stealth" in sub.tactics and "defense-evasion" not in sub.tactics
    assert sub.url == "https://attack.mitre.org/techniques/T1078/004"
    assert sub.active
    parent = data.technique("T1078")
    assert parent is not None and not parent.subtechnique and parent.parent is None


def test_revoked_technique_has_replacement(data: AttackData) -> None:
    old = data.technique("T1562.008")
    assert old is not None
    assert old.revoked and not old.active
    assert old.revoked_by == "T1685.002"
    replacement = data.replacement("T1562.008")
    assert replacement is not None and replacement.id == "T1685.002" and replacement.active


def test_replacement_follows_revocation_chains(data: AttackData) -> None:
    # T1150 was revoked by T1547.011, which was itself revoked later.
    first = data.technique("T1150")
    assert first is not None and first.revoked_by == "T1547.011"
    middle = data.technique("T1547.011")
    assert middle is not None and middle.revoked
    final = data.replacement("T1150")
    assert final is not None and final.active and final.id == middle.revoked_by
    assert data.replacement("T1078") is None  # active techniques have no replacement


def test_every_revoked_technique_points_at_a_known_one(data: AttackData) -> None:
    revoked = [t for t in data.techniques.values() if t.revoked]
    assert len(revoked) == 149
    assert all(t.revoked_by in data.techniques for t in revoked)
    assert all(not t.revoked_by for t in data.techniques.values() if not t.revoked)


def test_techniques_for_tactic(data: AttackData) -> None:
    stealth = {t.id for t in data.techniques_for_tactic("stealth")}
    assert "T1078.004" in stealth and "T1078" in stealth
    assert "T1562.008" not in stealth  # revoked, hidden by default
    assert "T1562.008" in {t.id for t in data.techniques_for_tactic("stealth", include_inactive=True)}
    assert data.techniques_for_tactic("defense-evasion") == ()
    assert all(t.active for t in data.techniques_for_tactic("persistence"))


def test_loading_is_one_json_parse_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_loads = json.loads

    def counting_loads(*args, **kwargs):
        calls.append(1)
        return real_loads(*args, **kwargs)

    monkeypatch.setattr(attack.json, "loads", counting_loads)
    attack.load_attack.cache_clear()
    try:
        first = attack.load_attack()
        second = attack.load_attack()
    finally:
        attack.load_attack.cache_clear()
    assert first is second
    assert len(calls) == 1


# --- threat validation -----------------------------------------------------------------------------


def entry(tactic_id: str, tactic_name: str, techniques: list | None = None, **extra) -> dict:
    return {
        "framework": "MITRE ATT&CK",
        "tactic": {"id": tactic_id, "name": tactic_name,
                   "reference": f"https://attack.mitre.org/tactics/{tactic_id}/"},
        "technique": techniques or [],
        **extra,
    }


def tech(tid: str, name: str, subs: list | None = None) -> dict:
    url = "https://attack.mitre.org/techniques/" + tid.replace(".", "/") + "/"
    out = {"id": tid, "name": name, "reference": url}
    if subs is not None:
        out["subtechnique"] = subs
    return out


GOOD = [
    entry("TA0005", "Stealth", [tech("T1078", "Valid Accounts", [tech("T1078.004", "Cloud Accounts")])]),
    entry("TA0004", "Privilege Escalation", [tech("T1548", "Abuse Elevation Control Mechanism")]),
]


def kinds(findings) -> list[tuple[str, tuple]]:
    return [(f.kind, f.path) for f in findings]


def test_good_threat_block_has_no_findings(data: AttackData) -> None:
    assert check_threat(GOOD, data) == []


def test_urls_without_trailing_slash_are_accepted(data: AttackData) -> None:
    block = copy.deepcopy(GOOD)
    block[0]["tactic"]["reference"] = "https://attack.mitre.org/tactics/TA0005"
    block[0]["technique"][0]["subtechnique"][0]["reference"] = "https://attack.mitre.org/techniques/T1078/004"
    assert check_threat(block, data) == []


def test_v18_tactic_name_is_reported_with_new_name(data: AttackData) -> None:
    block = copy.deepcopy(GOOD)
    block[0]["tactic"]["name"] = "Defense Evasion"
    [finding] = check_threat(block, data)
    assert finding.kind == "tactic-name"
    assert finding.path == ("threat", 0, "tactic", "name")
    assert finding.suggestion == "Stealth"
    assert "TA0005" in finding.message


def test_unknown_tactic(data: AttackData) -> None:
    block = [entry("TA0099", "Privilege Escalation")]
    [finding] = check_threat(block, data)
    assert (finding.kind, finding.path) == ("unknown-tactic", ("threat", 0, "tactic", "id"))
    assert finding.suggestion is not None and "TA0004" in finding.suggestion


def test_tactic_reference_mismatch(data: AttackData) -> None:
    block = copy.deepcopy(GOOD)
    block[1]["tactic"]["reference"] = "https://attack.mitre.org/tactics/TA0003/"
    [finding] = check_threat(block, data)
    assert (finding.kind, finding.path) == ("tactic-reference", ("threat", 1, "tactic", "reference"))
    assert finding.suggestion == "https://attack.mitre.org/tactics/TA0004/"


def test_unknown_technique_suggests_by_name(data: AttackData) -> None:
    block = [entry("TA0004", "Privilege Escalation", [tech("T9999", "Abuse Elevation Control Mechanism")])]
    [finding] = check_threat(block, data)
    assert (finding.kind, finding.path) == ("unknown-technique", ("threat", 0, "technique", 0, "id"))
    assert "T1548" in (finding.suggestion or "")


def test_technique_name_and_reference_mismatch(data: AttackData) -> None:
    block = copy.deepcopy(GOOD)
    block[0]["technique"][0]["subtechnique"][0]["name"] = "Cloud Account"
    block[0]["technique"][0]["subtechnique"][0]["reference"] = "https://attack.mitre.org/techniques/T1078/003/"
    found = check_threat(block, data)
    base = ("threat", 0, "technique", 0, "subtechnique", 0)
    assert kinds(found) == [("technique-name", base + ("name",)), ("technique-reference", base + ("reference",))]
    assert found[0].suggestion == "Cloud Accounts"
    assert found[1].suggestion == "https://attack.mitre.org/techniques/T1078/004/"


def test_technique_not_under_its_tactic(data: AttackData) -> None:
    # T1550.001 lost defense-evasion in v19: lateral movement only.
    block = [entry("TA0005", "Stealth", [tech("T1550", "Use Alternate Authentication Material",
                                               [tech("T1550.001", "Application Access Token")])])]
    found = check_threat(block, data)
    assert ("technique-tactic-mismatch", ("threat", 0, "technique", 0, "subtechnique", 0, "id")) in kinds(found)
    mismatch = [f for f in found if f.path[-3:] == ("subtechnique", 0, "id")][0]
    assert "TA0008" in (mismatch.suggestion or "")


def test_subtechnique_under_wrong_parent(data: AttackData) -> None:
    block = [entry("TA0005", "Stealth", [tech("T1078", "Valid Accounts", [tech("T1098.001", "Additional Cloud Credentials")])])]
    found = check_threat(block, data)
    path = ("threat", 0, "technique", 0, "subtechnique", 0, "id")
    assert ("subtechnique-parent-mismatch", path) in kinds(found)
    mismatch = [f for f in found if f.kind == "subtechnique-parent-mismatch"][0]
    assert "T1098" in (mismatch.suggestion or "")


def test_subtechnique_listed_as_technique_and_vice_versa(data: AttackData) -> None:
    block = [entry("TA0005", "Stealth", [
        tech("T1078.004", "Cloud Accounts"),
        tech("T1078", "Valid Accounts", [tech("T1548", "Abuse Elevation Control Mechanism")]),
    ])]
    found = kinds(check_threat(block, data))
    assert ("misplaced-subtechnique", ("threat", 0, "technique", 0, "id")) in found
    assert ("not-a-subtechnique", ("threat", 0, "technique", 1, "subtechnique", 0, "id")) in found


def test_revoked_subtechnique_names_replacement(data: AttackData) -> None:
    block = [entry("TA0005", "Stealth", [tech("T1562", "Impair Defenses", [tech("T1562.008", "Disable or Modify Cloud Logs")])])]
    found = check_threat(block, data)
    assert kinds(found) == [
        ("revoked", ("threat", 0, "technique", 0, "id")),
        ("revoked", ("threat", 0, "technique", 0, "subtechnique", 0, "id")),
    ]
    sub = found[1]
    assert "T1685.002" in sub.message
    assert sub.suggestion is not None and "T1685.002" in sub.suggestion and "T1685" in sub.suggestion


def test_deprecated_technique(data: AttackData) -> None:
    deprecated = next(t for t in data.techniques.values() if t.deprecated and not t.subtechnique)
    tactic = data.tactic_by_name(deprecated.tactics[0])
    assert tactic is not None
    block = [entry(tactic.id, tactic.name, [tech(deprecated.id, deprecated.name)])]
    found = check_threat(block, data)
    assert kinds(found) == [("deprecated", ("threat", 0, "technique", 0, "id"))]


def test_duplicate_tactic_and_technique(data: AttackData) -> None:
    block = copy.deepcopy(GOOD) + [entry("TA0005", "Stealth")]
    block[1]["technique"].append(tech("T1548", "Abuse Elevation Control Mechanism"))
    found = kinds(check_threat(block, data))
    assert ("duplicate-tactic", ("threat", 2, "tactic", "id")) in found
    assert ("duplicate-technique", ("threat", 1, "technique", 1, "id")) in found
    assert len(found) == 2


def test_malformed_entries_are_findings_not_exceptions(data: AttackData) -> None:
    block = [
        "not a table",
        {"framework": "MITRE ATT&CK", "tactic": {"id": "TA0005", "name": "Stealth"}},
        {"framework": "MITRE ATT&CK", "tactic": "TA0005"},
        entry("TA0004", "Privilege Escalation") | {"technique": "T1548"},
    ]
    found = kinds(check_threat(block, data))
    assert found == [
        ("malformed", ("threat", 0)),
        ("malformed", ("threat", 1, "tactic", "reference")),
        ("malformed", ("threat", 2, "tactic")),
        ("malformed", ("threat", 3, "technique")),
    ]
    assert kinds(check_threat("TA0005", data)) == [("malformed", ("threat",))]
    assert check_threat(None, data) == []


def test_other_frameworks_are_skipped_and_typos_reported(data: AttackData) -> None:
    atlas = [{"framework": "MITRE ATLAS", "tactic": {"id": "AML.TA0000", "name": "x", "reference": "y"}}]
    assert check_threat(atlas, data) == []
    typo = copy.deepcopy(GOOD[:1])
    typo[0]["framework"] = "MITRE ATTACK"
    found = check_threat(typo, data)
    assert kinds(found) == [("unknown-framework", ("threat", 0, "framework"))]
    assert found[0].suggestion == "MITRE ATT&CK"


def test_custom_root_path_for_versioned_mappings(data: AttackData) -> None:
    block = copy.deepcopy(GOOD)
    block[0]["tactic"]["name"] = "Defense Evasion"
    [finding] = check_threat(block, data, path=("threat_mappings", 1, "threat"))
    assert finding.path == ("threat_mappings", 1, "threat", 0, "tactic", "name")


def test_every_kind_produced_is_documented(data: AttackData) -> None:
    blocks = [
        [entry("TA0099", "x")],
        [entry("TA0005", "Defense Evasion", [tech("T1562", "Impair Defenses", [tech("T1562.008", "x")])])],
        [entry("TA0005", "Stealth", [tech("T1078.004", "Cloud Accounts")])],
    ]
    produced = {f.kind for block in blocks for f in check_threat(block, data)}
    assert produced <= set(FINDING_KINDS)
    assert {"unknown-tactic", "tactic-name", "revoked", "misplaced-subtechnique"} <= produced


# --- the generator's reduction of a STIX bundle ----------------------------------------------------


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_attack", REPO / "scripts" / "gen_attack.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stix(kind: str, ident: str, ext_id: str, **fields) -> dict:
    refs = [{"source_name": "mitre-attack", "external_id": ext_id, "url": f"https://example/{ext_id}"}]
    return {"type": kind, "id": ident, "external_references": refs, **fields}


def rel(kind: str, src: str, dst: str) -> dict:
    return {"type": "relationship", "relationship_type": kind, "source_ref": src, "target_ref": dst}


def phases(*names: str) -> list[dict]:
    return [{"kill_chain_name": "mitre-attack", "phase_name": n} for n in names]


def test_generator_reduces_a_small_bundle() -> None:
    gen = load_generator()
    bundle = {"type": "bundle", "objects": [
        stix("x-mitre-tactic", "x-mitre-tactic--1", "TA0005", name="Stealth", x_mitre_shortname="stealth"),
        stix("attack-pattern", "attack-pattern--a", "T1000", name="Old", revoked=True,
             kill_chain_phases=phases("stealth")),
        stix("attack-pattern", "attack-pattern--b", "T2000", name="New", kill_chain_phases=phases("stealth")),
        stix("attack-pattern", "attack-pattern--c", "T2000.001", name="Sub", x_mitre_is_subtechnique=True,
             kill_chain_phases=phases("stealth")),
        stix("attack-pattern", "attack-pattern--d", "T3000", name="Gone", x_mitre_deprecated=True),
        stix("intrusion-set", "intrusion-set--x", "G0001", name="group"),
        rel("revoked-by", "attack-pattern--a", "attack-pattern--b"),
        rel("subtechnique-of", "attack-pattern--c", "attack-pattern--b"),
        rel("revoked-by", "intrusion-set--x", "intrusion-set--y"),
    ]}
    table = gen.compact_attack(bundle)
    assert table["tactics"] == {"TA0005": {"name": "Stealth", "shortname": "stealth", "url": "https://example/TA0005"}}
    assert set(table["techniques"]) == {"T1000", "T2000", "T2000.001", "T3000"}
    assert table["techniques"]["T1000"]["revoked_by"] == "T2000"
    assert table["techniques"]["T2000.001"]["parent"] == "T2000"
    assert table["techniques"]["T2000.001"]["subtechnique"] is True
    assert table["techniques"]["T3000"] == {
        "name": "Gone", "url": "https://example/T3000", "tactics": [], "subtechnique": False, "parent": None,
        "revoked": False, "revoked_by": None, "deprecated": True,
    }
    # Stable output: same table, same bytes, keys sorted.
    assert gen.render(table) == gen.render(json.loads(gen.render(table)))
    assert gen.render(table).index('"tactics"') < gen.render(table).index('"techniques"')


def test_generator_refuses_inconsistent_bundles() -> None:
    gen = load_generator()
    revoked_without_target = {"objects": [
        stix("attack-pattern", "attack-pattern--a", "T1000", name="Old", revoked=True),
    ]}
    with pytest.raises(gen.GenerationError, match="revoked-by"):
        gen.compact_attack(revoked_without_target)
    wrong_parent = {"objects": [
        stix("attack-pattern", "attack-pattern--b", "T2000", name="P"),
        stix("attack-pattern", "attack-pattern--e", "T4000", name="Q"),
        stix("attack-pattern", "attack-pattern--c", "T2000.001", name="S", x_mitre_is_subtechnique=True),
        rel("subtechnique-of", "attack-pattern--c", "attack-pattern--e"),
    ]}
    with pytest.raises(gen.GenerationError, match="subtechnique-of"):
        gen.compact_attack(wrong_parent)


def test_generator_reads_hash_table_without_importing_it() -> None:
    gen = load_generator()
    source = 'import loguru\nSTIX20 = {"enterprise": {"19.1": "abc", "20.0": "def"}}\nSTIX21 = {}\n'
    assert gen.official_hash_from_table(source) == "abc"
    with pytest.raises(gen.GenerationError):
        gen.official_hash_from_table('STIX20 = {"enterprise": {}}')
