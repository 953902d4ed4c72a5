"""Offline AWS API names: is ``event.action`` something CloudTrail can log for ``event.provider``?

Two shipped files, each parsed once per process:

* ``data/aws_api.json.gz``: eventSource -> operation names, generated from a pinned botocore by
  ``scripts/gen_aws_api.py`` (botocore itself is never imported at run time);
* ``data/aws_extra_events.json``: hand-written, documented CloudTrail names that are not API
  operations (console sign-in, service events, S3 names that differ from the API), providers with no
  API model (every action accepted), and known mistakes with their fix.

``check_action`` answers ``None`` when the pair is real, allowlisted, or cannot be judged (unknown or
model-less provider), and otherwise a ``Suggestion`` with the closest real names.
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

from detection.diagnostics import DetectionError, Diagnostic, Location

API_FILE = "data/aws_api.json.gz"
EXTRA_FILE = "data/aws_extra_events.json"

# CloudTrail appends the API version to some operation names: Lambda logs AddPermission20150331v2 and
# GetAccountSettings20160819, old CloudFront records say UpdateDistribution2014_01_31.
VERSION_SUFFIX = re.compile(r"(?P<base>.+?)(?:\d{8}(?:v\d+)?|\d{4}_\d{2}_\d{2})")
WILDCARDS = frozenset("*?")

SUGGESTION_KINDS: Mapping[str, str] = MappingProxyType({
    "unknown-action": "no operation or documented event of this name exists for the provider",
    "case-mismatch": "the name exists with different capitalisation; event names are case-sensitive",
    "known-mistake": "a name that is commonly written but never logged (e.g. AssumedRole)",
    "no-match-for-pattern": "a wildcard action that matches no operation of the provider",
})


@dataclass(frozen=True)
class ExtraEvent:
    provider: str
    action: str
    event_type: str
    confidence: str  # documented | observed | reported | inferred
    reason: str
    source: str


@dataclass(frozen=True)
class KnownMistake:
    provider: str
    action: str
    use: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Suggestion:
    kind: str  # one of SUGGESTION_KINDS
    provider: str
    action: str
    candidates: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class AwsApiTable:
    meta: Mapping[str, object]
    api: Mapping[str, frozenset[str]]  # eventSource -> botocore operation names
    services: Mapping[str, tuple[str, ...]]  # eventSource -> botocore service names
    extras: Mapping[str, Mapping[str, ExtraEvent]]  # eventSource -> action -> entry
    any_action: Mapping[str, str]  # eventSource -> why every action is accepted
    mistakes: Mapping[tuple[str, str], KnownMistake]
    _names: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, table: Mapping, extra: Mapping) -> AwsApiTable:
        api = {src: frozenset(ops) for src, ops in table["sources"].items()}
        extras: dict[str, dict[str, ExtraEvent]] = {}
        for item in extra.get("events", ()):
            event = ExtraEvent(item["provider"], item["action"], item.get("event_type", ""),
                               item.get("confidence", ""), item["reason"], item.get("source", ""))
            extras.setdefault(event.provider, {})[event.action] = event
        any_action = {item["provider"]: item["reason"] for item in extra.get("any_action_providers", ())}
        mistakes = {
            (m["provider"], m["action"]): KnownMistake(m["provider"], m["action"], tuple(m["use"]), m["reason"])
            for m in extra.get("known_mistakes", ())
        }
        names = dict(api)
        for provider, events in extras.items():
            names[provider] = names.get(provider, frozenset()) | frozenset(events)
        return cls(
            meta=MappingProxyType(dict(table.get("_meta", {}))),
            api=MappingProxyType(api),
            services=MappingProxyType({k: tuple(v) for k, v in table.get("services", {}).items()}),
            extras=MappingProxyType({k: MappingProxyType(v) for k, v in extras.items()}),
            any_action=MappingProxyType(any_action),
            mistakes=MappingProxyType(mistakes),
            _names=MappingProxyType(names),
        )

    @property
    def botocore_version(self) -> str:
        return str(self.meta.get("botocore_version", "unknown"))

    def known_provider(self, source: str) -> bool:
        return source in self._names or source in self.any_action

    def operations(self, source: str) -> frozenset[str]:
        """API operations plus documented extra event names for ``source`` (empty if unknown)."""
        return self._names.get(source, frozenset())

    def extra_event(self, provider: str, action: str) -> ExtraEvent | None:
        return self.extras.get(provider, {}).get(action)

    def suggest_providers(self, source: str, n: int = 3) -> tuple[str, ...]:
        """Closest known event sources, for a provider that is not known at all."""
        pool = list(self._names) + list(self.any_action)
        return tuple(difflib.get_close_matches(source, pool, n=n, cutoff=0.75))

    def check_action(self, provider: str, action: str, *, case_insensitive: bool = False) -> Suggestion | None:
        """``None`` if ``action`` can be logged for ``provider`` (or we cannot tell), else a suggestion.

        ``action`` may be a KQL wildcard pattern (``AssumeRole*``); it is fine if any name matches.
        Patterns match names as botocore spells them, without CloudTrail's version suffixes.
        """
        if not provider or WILDCARDS & set(provider) or provider in self.any_action:
            return None
        names = self._names.get(provider)
        if not names:
            return None  # no model for this provider: nothing to judge against
        if WILDCARDS & set(action):
            return self._check_pattern(provider, action, names, case_insensitive)
        if self._exists(action, names, case_insensitive):
            return None
        mistake = self.mistakes.get((provider, action))
        if mistake is not None:
            return Suggestion("known-mistake", provider, action, mistake.use,
                              f"{provider} does not log {action}: {mistake.reason}")
        folded = {n.casefold(): n for n in names}
        same = folded.get(action.casefold())
        if same is not None:
            return Suggestion("case-mismatch", provider, action, (same,),
                              f"{provider} logs {same}, not {action}; event names are case-sensitive")
        close = tuple(difflib.get_close_matches(action, sorted(names), n=3, cutoff=0.6))
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        return Suggestion("unknown-action", provider, action, close,
                          f"{provider} has no operation or event named {action} "
                          f"(botocore {self.botocore_version}){hint}")

    @staticmethod
    def _exists(action: str, names: frozenset[str], case_insensitive: bool) -> bool:
        candidates = [action]
        versioned = VERSION_SUFFIX.fullmatch(action)
        if versioned:
            candidates.append(versioned.group("base"))
        if not case_insensitive:
            return any(c in names for c in candidates)
        folded = {n.casefold() for n in names}
        return any(c.casefold() in folded for c in candidates)

    def _check_pattern(self, provider: str, pattern: str, names: frozenset[str],
                       case_insensitive: bool) -> Suggestion | None:
        regex = wildcard_regex(pattern, case_insensitive)
        if any(regex.fullmatch(name) for name in names):
            return None
        literal = "".join(ch for ch in pattern if ch not in WILDCARDS)
        close = tuple(difflib.get_close_matches(literal, sorted(names), n=3, cutoff=0.6))
        hint = f"; closest names: {', '.join(close)}" if close else ""
        return Suggestion("no-match-for-pattern", provider, pattern, close,
                          f"the pattern {pattern} matches no operation or event of {provider}{hint}")


def wildcard_regex(pattern: str, case_insensitive: bool = False) -> re.Pattern[str]:
    """KQL value wildcards: ``*`` any run of characters, ``?`` one character; ``\\`` escapes."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE if case_insensitive else 0)


def _resource(name: str):
    return resources.files("detection").joinpath(name)


@lru_cache(maxsize=1)
def load_aws_api() -> AwsApiTable:
    """The shipped table and allowlist, each parsed once per process."""
    current = API_FILE
    try:
        table = json.loads(gzip.decompress(_resource(API_FILE).read_bytes()))
        current = EXTRA_FILE
        extra = json.loads(_resource(EXTRA_FILE).read_bytes())
        return AwsApiTable.from_json(table, extra)
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise DetectionError([
            Diagnostic(
                Location(str(_resource(current)), 0, 0),
                "DATA002",
                f"cannot load the shipped AWS API data: {exc}",
                hint="reinstall the package, or regenerate aws_api.json.gz with scripts/gen_aws_api.py "
                "(aws_extra_events.json is hand-written: fix its JSON)",
            )
        ]) from exc


def known_provider(source: str) -> bool:
    return load_aws_api().known_provider(source)


def operations(source: str) -> frozenset[str]:
    return load_aws_api().operations(source)


def check_action(provider: str, action: str, *, case_insensitive: bool = False) -> Suggestion | None:
    return load_aws_api().check_action(provider, action, case_insensitive=case_insensitive)
