"""The field data that ships in the package: ECS and curated integration data streams."""

from __future__ import annotations

import json
from functools import lru_cache

from detection.fields.schema import FieldSchema, Layer, field_infos
from detection.resources import data_path


def _read_json(name: str) -> dict:
    return json.loads(data_path(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def ecs_layer() -> Layer:
    data = _read_json("ecs_fields.json")
    version = data["_meta"]["ecs_version"]
    infos = {}
    for name, spec in data["fields"].items():
        for info in field_infos(name, spec, source=f"ecs {version}"):
            infos[info.name] = info
    return Layer(f"ecs {version}", infos, None)


@lru_cache(maxsize=1)
def integration_layers() -> tuple[Layer, ...]:
    layers = []
    for path in sorted(data_path("integrations").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        name = data["_meta"]["data_stream"]
        infos = {}
        for fname, spec in data["fields"].items():
            for info in field_infos(fname, spec, source=name):
                infos[info.name] = info
        layers.append(Layer(name, infos, tuple(data["index_patterns"])))
    return tuple(layers)


def ecs_version() -> str:
    return ecs_layer().name.split(" ", 1)[1]


@lru_cache(maxsize=1)
def default_schema() -> FieldSchema:
    """ECS plus every shipped integration data stream (cached; the schema is immutable)."""
    return FieldSchema((ecs_layer(), *integration_layers()))
