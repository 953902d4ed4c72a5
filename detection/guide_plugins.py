"""Investigation-guide buttons from an elastic/detection-rules ``[transform]`` table.

A TOML rule keeps its Osquery and Timeline buttons out of the Markdown: ``[[transform.osquery]]``
and ``[[transform.investigate]]`` entries, referenced from ``note`` as ``$osquery_0``,
``$investigate_1`` and so on. Kibana knows nothing of the table; it reads the buttons from the
Markdown itself as ``!{osquery{...}}`` and ``!{investigate{...}}`` with a JSON object inside. So at
export each placeholder becomes its entry's button, and a placeholder without an entry stays as
written (lint can then point at it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

PLUGINS = ("osquery", "investigate")
_PLACEHOLDER = re.compile(r"\$(" + "|".join(PLUGINS) + r")_(\d+)(?!\d)")


def button(plugin: str, entry: Mapping[str, Any]) -> str:
    """The Markdown for one button: the plugin name and the entry as compact JSON."""
    return "!{" + plugin + json.dumps(dict(entry), separators=(",", ":"), ensure_ascii=False) + "}"


def render_placeholders(text: str, transform: Mapping[str, Any] | None) -> str:
    """``text`` with each ``$<plugin>_<n>`` replaced by the n-th entry of that plugin's list."""
    if not isinstance(transform, Mapping) or "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        entries = transform.get(match.group(1))
        index = int(match.group(2))
        if isinstance(entries, list) and index < len(entries) and isinstance(entries[index], Mapping):
            return button(match.group(1), entries[index])
        return match.group(0)

    return _PLACEHOLDER.sub(replace, text)
