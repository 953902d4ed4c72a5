"""Elasticsearch field types for queries and lint: ECS, shipped integrations, project files.

    schema = default_schema().merge(load_custom_fields("schemas/fields")).for_indices(rule_index)
    schema.type_of("user.name")            -> "keyword"
    schema.constant_value("event.dataset") -> "aws.cloudtrail" (CloudTrail data stream)
"""

from __future__ import annotations

from detection.fields.custom import load_custom_fields, load_custom_file
from detection.fields.patterns import glob_match, globs_intersect
from detection.fields.schema import (
    DATE_TYPES,
    KNOWN_TYPES,
    NUMERIC_TYPES,
    STRING_TYPES,
    FieldInfo,
    FieldSchema,
    Layer,
)
from detection.fields.shipped import default_schema, ecs_version

__all__ = [
    "DATE_TYPES",
    "KNOWN_TYPES",
    "NUMERIC_TYPES",
    "STRING_TYPES",
    "FieldInfo",
    "FieldSchema",
    "Layer",
    "default_schema",
    "ecs_version",
    "glob_match",
    "globs_intersect",
    "load_custom_fields",
    "load_custom_file",
]
