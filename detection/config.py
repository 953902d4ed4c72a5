"""Project settings from ``[tool.detection]`` in pyproject.toml, with defaults that also fit an
elastic/detection-rules checkout (``rules/`` and ``rules_building_block/``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection.diagnostics import DetectionError, Diagnostic, Location
from detection.sourcemap import SourceMap
from detection.toml_source import TomlProblem, load_toml

DEFAULT_RULE_DIRS = ("rules", "rules_building_block")


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    rules_dirs: tuple[Path, ...]
    fixtures_dir: Path
    fields_dir: Path
    # Fixture policy: rules at these maturities need no positive/negative case.
    require_positive: bool = True
    require_negative: bool = True
    exempt_maturities: tuple[str, ...] = ("experimental", "deprecated", "development")
    lint: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)


def find_root(start: Path | None = None) -> Path:
    """The nearest ancestor with a pyproject.toml that has [tool.detection], or with a rules/ folder."""
    start = (start or Path.cwd()).resolve()
    if start.is_file():
        start = start.parent
    for candidate in (start, *start.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and "[tool.detection" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return candidate
    for candidate in (start, *start.parents):
        if (candidate / "rules").is_dir():
            return candidate
    return start


def load_config(root: Path | None = None, rules_dir: Path | None = None) -> ProjectConfig:
    root = find_root(root)
    settings: Mapping[str, Any] = {}
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            document, source = load_toml(pyproject.read_text(encoding="utf-8"))
        except TomlProblem as exc:
            raise DetectionError([Diagnostic(Location(str(pyproject), exc.line, exc.column), "E101",
                                             f"cannot read pyproject.toml: {exc.message}")]) from None
        settings = document.get("tool", {}).get("detection", {})
        problems = _setting_problems(settings, source, str(pyproject))
        if problems:
            raise DetectionError(problems)
    if rules_dir is not None:
        rules_dirs: tuple[Path, ...] = (Path(rules_dir),)
    elif "rules-dir" in settings or "rules-dirs" in settings:
        names = settings.get("rules-dirs") or [settings["rules-dir"]]
        rules_dirs = tuple(root / n for n in names)
    else:
        rules_dirs = tuple(root / n for n in DEFAULT_RULE_DIRS if (root / n).is_dir()) or (root / "rules",)
    policy = settings.get("policy", {})
    return ProjectConfig(
        root=root,
        rules_dirs=rules_dirs,
        fixtures_dir=root / settings.get("fixtures-dir", "fixtures"),
        fields_dir=root / settings.get("fields-dir", "schemas/fields"),
        require_positive=bool(policy.get("require-positive", True)),
        require_negative=bool(policy.get("require-negative", True)),
        exempt_maturities=tuple(policy.get("exempt-maturities", ("experimental", "deprecated", "development"))),
        lint=settings.get("lint", {}),
        settings=settings,
    )


# [tool.detection] keys read here, with the TOML type each needs; a wrong type would otherwise
# fail deep inside a command (a number as a folder name) or pass silently ("yes" as true).
_SETTING_TYPES: dict[tuple[str, ...], tuple[type, str]] = {
    ("rules-dir",): (str, "a folder name in quotes"),
    ("rules-dirs",): (list, "a list of folder names"),
    ("fixtures-dir",): (str, "a folder name in quotes"),
    ("fields-dir",): (str, "a folder name in quotes"),
    ("policy",): (dict, "a table ([tool.detection.policy])"),
    ("policy", "require-positive"): (bool, "true or false"),
    ("policy", "require-negative"): (bool, "true or false"),
    ("policy", "exempt-maturities"): (list, "a list of maturities"),
    ("lint",): (dict, "a table ([tool.detection.lint])"),
    ("require-coverage",): (bool, "true or false"),
    ("allow-skipped",): (bool, "true or false"),
}
_STRING_LISTS = {("rules-dirs",), ("policy", "exempt-maturities")}


def _setting_problems(settings: Mapping[str, Any], source: SourceMap, shown: str) -> list[Diagnostic]:
    problems = []
    for key, (wanted, what) in _SETTING_TYPES.items():
        value: Any = settings
        for part in key:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            continue
        bad = not isinstance(value, wanted) or (key in _STRING_LISTS and not all(isinstance(v, str) for v in value))
        if bad:
            line, column = source.value(("tool", "detection", *key))
            problems.append(Diagnostic(Location(shown, line, column), "S103",
                                       f"[tool.detection] {'.'.join(key)} must be {what}, not {value!r}",
                                       hint=f"write {'.'.join(key)} as {what}"))
    return problems
