"""Safe YAML loading for rule and fixture files.

Builds plain Python data straight from the parser's events, so that we control what a
document may contain: no anchors or aliases (the billion-laughs attack needs them, and rule
files never do), no language-specific tags, bounded nesting, and no duplicate keys. Every
value's position is recorded in a SourceMap. Timestamps stay the strings the author wrote,
because rule files hold dates as text and JSON Schema expects strings.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from detection.sourcemap import SourceMap

try:  # the C parser is much faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _EventLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _EventLoader  # type: ignore[assignment]

MAX_DEPTH = 64
MAX_BYTES = 4 * 1024 * 1024
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
    "!",
}


class YamlProblem(ValueError):
    """A YAML document that cannot be used; ``kind`` is "syntax" or "unsafe"."""

    def __init__(self, message: str, line: int, column: int, kind: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.line, self.column, self.kind, self.hint = message, line, column, kind, hint


class _Builder:
    def __init__(self) -> None:
        self.values: dict[tuple, tuple[int, int]] = {}
        self.keys: dict[tuple, tuple[int, int]] = {}
        self._resolver = Resolver()
        self._constructor = SafeConstructor()

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._resolver.resolve(ScalarNode, event.value, event.implicit)
        if tag not in _STANDARD_TAGS:
            raise _unsafe_tag(event)
        if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp", "!"):
            return event.value
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        try:
            return self._constructor.construct_object(node)
        except (ConstructorError, ValueError) as exc:  # e.g. an explicit !!int on a non-number
            mark = event.start_mark
            problem = getattr(exc, "problem", None) or f"cannot read {event.value!r} as {tag.rsplit(':', 1)[-1]}"
            raise YamlProblem(problem, mark.line + 1, mark.column + 1, "syntax") from None


def _unsafe_tag(event: Any) -> YamlProblem:
    mark = event.start_mark
    return YamlProblem(
        f"YAML tag {event.tag!r} is not allowed",
        mark.line + 1,
        mark.column + 1,
        "unsafe",
        hint="rule files hold plain data: remove the tag",
    )


def load_yaml(text: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain data and its SourceMap; raise YamlProblem."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlProblem(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB", 1, 1, "unsafe")
    builder = _Builder()
    try:
        events = yaml.parse(text, Loader=_EventLoader)
        result = _compose_document(events, builder)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or str(exc)
        if exc.context:
            started = exc.context_mark
            if started is not None and mark is not None and started.line != mark.line:
                # An unclosed bracket or quote is noticed lines later: say where it was opened.
                message = f"{message} ({exc.context} that starts at line {started.line + 1}, column {started.column + 1})"
            else:
                message = f"{message} ({exc.context})"
        raise YamlProblem(f"YAML syntax error: {message}", line, col, "syntax") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"YAML error: {exc}", 1, 1, "syntax") from None
    return result, SourceMap(builder.values, builder.keys)


def _compose_document(events: Any, builder: _Builder) -> Any:
    document: Any = None
    seen_document = False
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            if seen_document:
                mark = event.start_mark
                raise YamlProblem(
                    "more than one YAML document in the file",
                    mark.line + 1,
                    mark.column + 1,
                    "syntax",
                    hint="keep one rule per file; remove the extra '---'",
                )
            seen_document = True
            document = _compose_node(events, builder, (), 0)
    return document


def _position(event: Any) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


def _compose_node(events: Any, builder: _Builder, path: tuple, depth: int) -> Any:
    event = next(events)
    if isinstance(event, yaml.DocumentEndEvent):
        return None
    return _compose_from(event, events, builder, path, depth)


def _compose_from(event: Any, events: Any, builder: _Builder, path: tuple, depth: int) -> Any:
    if isinstance(event, yaml.AliasEvent):
        line, col = _position(event)
        raise YamlProblem(
            f"YAML alias '*{event.anchor}' is not allowed",
            line,
            col,
            "unsafe",
            hint="anchors and aliases are refused in rule files (they enable billion-laughs attacks); write the value out",
        )
    anchor = getattr(event, "anchor", None)
    if anchor is not None:
        line, col = _position(event)
        raise YamlProblem(
            f"YAML anchor '&{anchor}' is not allowed",
            line,
            col,
            "unsafe",
            hint="anchors and aliases are refused in rule files; write the value out",
        )
    if depth > MAX_DEPTH:
        line, col = _position(event)
        raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", line, col, "unsafe",
                          hint="rule files are a few levels deep; flatten this value or close its brackets")
    builder.values[path] = _position(event)
    if isinstance(event, yaml.ScalarEvent):
        return builder.scalar(event)
    if isinstance(event, yaml.SequenceStartEvent):
        if event.tag not in (None, "tag:yaml.org,2002:seq", "!"):
            raise _unsafe_tag(event)
        items: list[Any] = []
        for item_event in events:
            if isinstance(item_event, yaml.SequenceEndEvent):
                return items
            items.append(_compose_from(item_event, events, builder, path + (len(items),), depth + 1))
    if isinstance(event, yaml.MappingStartEvent):
        if event.tag not in (None, "tag:yaml.org,2002:map", "!"):
            raise _unsafe_tag(event)
        mapping: dict[Any, Any] = {}
        for key_event in events:
            if isinstance(key_event, yaml.MappingEndEvent):
                return mapping
            if not isinstance(key_event, yaml.ScalarEvent):
                line, col = _position(key_event)
                if isinstance(key_event, yaml.AliasEvent):
                    _compose_from(key_event, events, builder, path, depth + 1)
                raise YamlProblem("mapping keys must be plain strings", line, col, "syntax")
            key = builder.scalar(key_event)
            if not isinstance(key, str):
                key = str(key) if key is not None else "null"
            key_pos = _position(key_event)
            if key in mapping:
                first = builder.keys.get(path + (key,), (0, 0))
                raise YamlProblem(
                    f"duplicate key {key!r} (first defined on line {first[0]})",
                    key_pos[0],
                    key_pos[1],
                    "duplicate",
                    hint="remove one of the two entries",
                )
            builder.keys[path + (key,)] = key_pos
            mapping[key] = _compose_node(events, builder, path + (key,), depth + 1)
    raise YamlProblem("unexpected YAML structure", *_position(event), "syntax")  # pragma: no cover
