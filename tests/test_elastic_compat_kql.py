"""Compatibility with elastic/detection-rules TOML rules (KQL, Lucene, threshold, new_terms,
threat_match, machine_learning): constructs met in that repository, rebuilt here as small rules of
our own so each fix keeps a test that can fail."""

from __future__ import annotations

from pathlib import Path

from tests.lint_support import lint_files, position, write_rule

# A new_terms rule in the detection-rules TOML layout: the new terms live in a [rule.new_terms]
# table that the loader flattens to Kibana's new_terms_fields / history_window_start.
NEW_TERMS_TOML = """\
[metadata]
creation_date = "2025/02/03"
updated_date = "2025/02/03"
maturity = "production"

[rule]
author = ["Tester"]
description = "First login of a user name from a host."
from = "now-10m"
index = ["logs-system.auth-*"]
language = "kuery"
license = "Apache-2.0"
name = "Example First Login"
risk_score = 21
rule_id = "3c1d7a52-8e0f-4b6a-9d21-5f7e6a4b3c2d"
severity = "low"
type = "new_terms"
query = '''
event.category:authentication and event.outcome:success
'''

[rule.new_terms]
field = "new_terms_fields"
value = ["user.nmae"]
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-2m"
"""


def test_new_terms_findings_point_into_the_new_terms_table(tmp_path: Path) -> None:
    path = write_rule(tmp_path / "rules", NEW_TERMS_TOML, "first_login.toml")
    findings = lint_files(path).findings
    unknown = [d for d in findings if d.code == "Q102" and "user.nmae" in d.message]
    assert len(unknown) == 1
    assert (unknown[0].location.line, unknown[0].location.column) == position(NEW_TERMS_TOML, '["user.nmae"]')
    # history_window_start (now-2m) is not earlier than from (now-10m): H115, at the TOML value.
    window = [d for d in findings if d.code == "H115"]
    assert len(window) == 1
    assert window[0].location.line == position(NEW_TERMS_TOML, '"now-2m"')[0]


GUIDE_TOML = """\
[metadata]
creation_date = "2025/02/03"
updated_date = "2025/02/03"
maturity = "production"

[transform]
[[transform.osquery]]
label = "Listening ports"
query = "SELECT pid, port FROM listening_ports"

[[transform.investigate]]
label = "Same host"
description = ""
providers = [[
    { excluded = false, field = "host.id", queryType = "phrase", value = "{{host.id}}", valueType = "string" },
]]
relativeFrom = "now-1h"
relativeTo = "now"

[rule]
author = ["Tester"]
description = "A guide with buttons."
index = ["logs-endpoint.events.process-*"]
language = "kuery"
license = "Apache-2.0"
name = "Example Guide Buttons"
note = \"\"\"## Triage
- Ports: $osquery_0
- Timeline: $investigate_0
- Not defined: $osquery_1
\"\"\"
risk_score = 21
rule_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
severity = "low"
type = "query"
query = "event.category:process and process.name:nc"
"""


def test_export_writes_transform_entries_into_the_note_as_kibana_buttons(tmp_path: Path) -> None:
    from detection.kibana_export import export_paths

    write_rule(tmp_path / "rules", GUIDE_TOML, "guide.toml")
    (line,) = export_paths([tmp_path / "rules"]).rules
    note = line.payload["note"]
    assert '- Ports: !{osquery{"label":"Listening ports","query":"SELECT pid, port FROM listening_ports"}}\n' in note
    assert ('- Timeline: !{investigate{"label":"Same host","description":"","providers":[[{"excluded":false,'
            '"field":"host.id","queryType":"phrase","value":"{{host.id}}","valueType":"string"}]],'
            '"relativeFrom":"now-1h","relativeTo":"now"}}\n') in note
    # No second osquery entry: the placeholder is left for the author to see.
    assert "- Not defined: $osquery_1\n" in note
    assert "transform" not in line.payload
