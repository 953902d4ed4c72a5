"""Reading event files (NDJSON: one JSON object per line) with located errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from detection.diagnostics import DetectionError, Diagnostic, Location

CODE_BAD_JSON = "E201"
CODE_NOT_OBJECT = "E202"
CODE_UNREADABLE = "E203"


def iter_ndjson(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(1-based line number, event) for every non-blank line; DetectionError on the first bad line."""
    path = Path(path)
    shown = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DetectionError([Diagnostic(Location(shown, 0, 0), CODE_UNREADABLE, f"cannot read events file: {exc.strerror or exc}")]) from None
    # Bytes decoded line by line, so that a bad byte is reported on its own line, not the first.
    with handle:
        line_no = 0
        try:
            for line_no, raw in enumerate(handle, start=1):  # noqa: B007
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    column = len(raw[: exc.start].decode("utf-8", "replace")) + 1
                    raise DetectionError([Diagnostic(Location(shown, line_no, column), CODE_UNREADABLE,
                                                     f"events file is not UTF-8: {exc.reason}",
                                                     "save the events file as UTF-8")]) from None
                if not line.strip():
                    continue
                yield line_no, parse_event_line(line, shown, line_no)
        except OSError as exc:  # a folder given as the events file, or a read error part-way
            raise DetectionError([Diagnostic(Location(shown, line_no, 0), CODE_UNREADABLE,
                                             f"cannot read events file: {exc.strerror or exc}")]) from None


def parse_event_line(line: str, shown: str, line_no: int) -> dict:
    try:
        # Without the line end, an error at the end of the line is reported there, not on "line 2".
        event = json.loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        raise DetectionError(
            [Diagnostic(Location(shown, line_no, exc.colno), CODE_BAD_JSON, f"invalid JSON: {exc.msg}",
                        "each line of an events file is one JSON object")]
        ) from None
    if not isinstance(event, Mapping):
        raise DetectionError(
            [Diagnostic(Location(shown, line_no, 1), CODE_NOT_OBJECT, f"an event is a JSON object, not {type(event).__name__}")]
        )
    return event


def matching_lines(predicate: Callable[[Mapping], bool], path: str | Path) -> Iterator[int]:
    """Line numbers of the events the predicate accepts, in file order."""
    for line_no, event in iter_ndjson(path):
        if predicate(event):
            yield line_no
