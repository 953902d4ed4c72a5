"""Which codes run: ``[tool.detection.lint]`` in pyproject.toml and ``--select``/``--ignore``.

Codes are chosen like ruff does: an entry is a whole code (``Q104``), a family (``Q``) or a prefix
(``H1``), or ``ALL``. For each code the longest matching entry of ``select`` or ``ignore`` decides;
on a tie ``ignore`` wins. With no ``select`` every code is selected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection.diagnostics import Diagnostic, Location

CODE_UNKNOWN_SETTING = "L103"
CODE_BAD_SELECTOR = "L104"

DEFAULT_MAX_SIGNALS = 1000  # Kibana's default xpack.alerting.rules.run.alerts.max

# Setting name -> (expected Python type, what to write).
_SETTINGS: Mapping[str, tuple[type, str]] = {
    "select": (list, "a list of codes or prefixes, e.g. [\"Q\", \"H101\"]"),
    "ignore": (list, "a list of codes or prefixes, e.g. [\"Q112\"]"),
    "allowed-tags": (list, "a list of tag strings"),
    "max-signals": (int, "an integer, e.g. 1000"),
    "docs-url": (str, "the URL of docs/lint-codes.md in your repository (used by SARIF helpUri)"),
}


def split_codes(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """Comma- or space-separated codes from the command line or config, upper-cased."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        out.extend(part.strip().upper() for part in str(value).replace(",", " ").split() if part.strip())
    return tuple(out)


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        chosen = _longest(code, self.select) if self.select else 0
        return chosen >= 0 and chosen > _longest(code, self.ignore)

    def unknown(self, codes: Iterable[str]) -> list[str]:
        """Entries that match no known code."""
        known = list(codes)
        return [entry for entry in (*self.select, *self.ignore)
                if entry != "ALL" and not any(c.startswith(entry) for c in known)]


def _longest(code: str, entries: Sequence[str]) -> int:
    """Length of the longest entry matching ``code`` (``ALL`` counts as 0), or -1 if none."""
    best = -1
    for entry in entries:
        if entry == "ALL":
            best = max(best, 0)
        elif code.startswith(entry):
            best = max(best, len(entry))
    return best


@dataclass(frozen=True)
class LintSettings:
    selection: Selection = field(default_factory=Selection)
    allowed_tags: tuple[str, ...] | None = None
    max_signals: int = DEFAULT_MAX_SIGNALS
    docs_url: str | None = None

    def with_cli(self, select: Iterable[str] | None, ignore: Iterable[str] | None) -> LintSettings:
        """Command-line ``--select`` replaces the configured list; ``--ignore`` adds to it."""
        chosen = split_codes(select) if select else self.selection.select
        ignored = self.selection.ignore + split_codes(ignore)
        return LintSettings(Selection(chosen, ignored), self.allowed_tags, self.max_signals, self.docs_url)


def settings_from_mapping(raw: Mapping[str, Any], where: Path | str = "pyproject.toml",
                          root: Path | None = None) -> tuple[LintSettings, list[Diagnostic]]:
    """Read ``[tool.detection.lint]``; problems come back as located L103 diagnostics."""
    problems: list[Diagnostic] = []
    positions = _positions(root / "pyproject.toml") if root else {}
    shown = str(where)

    def at(key: str) -> Location:
        line, col = positions.get(key, (1, 1))
        return Location(shown, line, col)

    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _SETTINGS:
            known = ", ".join(_SETTINGS)
            problems.append(Diagnostic(at(key), CODE_UNKNOWN_SETTING,
                                       f"unknown setting '{key}' in [tool.detection.lint]",
                                       hint=f"known settings: {known}"))
            continue
        kind, what = _SETTINGS[key]
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if ok and kind is list:
            ok = all(isinstance(v, str) for v in value)
        if ok and key == "max-signals":
            ok = value >= 1
        if not ok:
            problems.append(Diagnostic(at(key), CODE_UNKNOWN_SETTING,
                                       f"[tool.detection.lint] {key} must be {what}", hint=f"write {key} as {what}"))
            continue
        values[key] = value
    settings = LintSettings(
        selection=Selection(split_codes(values.get("select")), split_codes(values.get("ignore"))),
        allowed_tags=tuple(values["allowed-tags"]) if "allowed-tags" in values else None,
        max_signals=int(values.get("max-signals", DEFAULT_MAX_SIGNALS)),
        docs_url=values.get("docs-url"),
    )
    return settings, problems


def selector_problems(selection: Selection, known: Iterable[str], where: str) -> list[Diagnostic]:
    """Usage errors for select/ignore entries that match no code."""
    return [Diagnostic(Location(where, 0, 0), CODE_BAD_SELECTOR, f"'{entry}' matches no lint code",
                       hint="see docs/lint-codes.md for the list of codes")
            for entry in selection.unknown(known)]


def _positions(pyproject: Path) -> dict[str, tuple[int, int]]:
    """Positions of the keys of [tool.detection.lint], for located messages (best effort)."""
    try:
        from detection.toml_source import load_toml

        _, source = load_toml(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    base = ("tool", "detection", "lint")
    return {path[-1]: pos for path, pos in source.keys.items() if len(path) == 4 and path[:3] == base}
