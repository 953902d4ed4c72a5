"""Hostile YAML is refused with a located, explained error."""

from __future__ import annotations

import pytest

from detection.yaml_safe import MAX_DEPTH, YamlProblem, load_yaml

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]
"""


def test_billion_laughs_refused() -> None:
    with pytest.raises(YamlProblem) as info:
        load_yaml(BILLION_LAUGHS)
    assert info.value.kind == "unsafe"
    assert (info.value.line, info.value.column) == (1, 4)
    assert "anchor" in info.value.message


def test_alias_refused() -> None:
    with pytest.raises(YamlProblem) as info:
        load_yaml("a: 1\nb: *x\n")
    # An undefined alias is a parse error before it is an alias; both are refused.
    assert info.value.line == 2


def test_python_object_tag_refused() -> None:
    with pytest.raises(YamlProblem) as info:
        load_yaml("rule: !!python/object/apply:os.system ['echo pwned']\n")
    assert info.value.kind == "unsafe"
    assert "python/object/apply:os.system" in info.value.message
    assert (info.value.line, info.value.column) == (1, 7)


def test_custom_local_tag_refused() -> None:
    with pytest.raises(YamlProblem) as info:
        load_yaml("a: !include other.yaml\n")
    assert info.value.kind == "unsafe"


def test_deep_nesting_refused() -> None:
    depth = MAX_DEPTH + 10
    with pytest.raises(YamlProblem) as info:
        load_yaml("[" * depth + "]" * depth)
    assert info.value.kind == "unsafe" and "nesting" in info.value.message


def test_nesting_within_limit_loads() -> None:
    depth = MAX_DEPTH - 2
    data, _ = load_yaml("[" * depth + "]" * depth)
    assert isinstance(data, list)


def test_multiple_documents_refused() -> None:
    with pytest.raises(YamlProblem) as info:
        load_yaml("a: 1\n---\nb: 2\n")
    assert info.value.line == 2


def test_timestamps_stay_strings_and_positions_recorded() -> None:
    data, source = load_yaml("d: 2024-01-02\nn: 5\nf: 1.5\nb: true\nz: null\nl:\n  - x\n")
    assert data == {"d": "2024-01-02", "n": 5, "f": 1.5, "b": True, "z": None, "l": ["x"]}
    assert source.value(("l", 0)) == (7, 5)
    assert source.key(("n",)) == (2, 1)


HOSTILE_FILES = {
    "billion-laughs": (BILLION_LAUGHS, 1, 4, "YAML anchor '&a' is not allowed"),
    "python-tag": ("rule: !!python/object/apply:os.system ['echo pwned']\n", 1, 7,
                   "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"),
    "deep-nesting": ("rule: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n", 1, 7 + MAX_DEPTH,
                     f"nesting deeper than {MAX_DEPTH} levels"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_validate_refuses_hostile_yaml_with_a_located_e102(name, tmp_path, capsys):
    from detection.cli import main

    text, line, column, message = HOSTILE_FILES[name]
    path = tmp_path / "rule.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    first, hint = out.splitlines()[:2]
    assert first == f"{path}:{line}:{column}: E102 {message}"
    assert hint.strip().startswith("hint: ") and "syntax" not in hint  # says what to do about it
    assert "Traceback" not in out + err
