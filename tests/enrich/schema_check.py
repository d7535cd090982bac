"""A fast validator for the enriched-record schema, for the fuzzer's hundred thousand records.

``jsonschema`` spends tens of milliseconds on a record with a few thousand numbers, which
would make fuzzing mostly validation. This compiles ``config/enriched-article.schema.json``
itself into nested Python checks, for the keywords that schema uses; any other keyword
stops compilation, so a schema change cannot be skipped silently. The fuzzer still
validates a sample with ``jsonschema`` and requires both to agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from tests.conftest import CONFIG

# value -> the first error, or None. An error starts with the JSON pointer of the value at
# fault, built on the way out: paths are made only for errors, not for every value.
Check = Callable[[Any], str | None]
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_IGNORED = frozenset({"$schema", "$id", "$defs", "title", "description"})


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if pointer not in self.refs:
            node: Any = self.root
            for part in pointer.removeprefix("#/").split("/"):
                node = node[part]
            self.refs[pointer] = self.compile(node)
        return self.refs[pointer]

    def compile(self, schema: dict[str, Any]) -> Check:
        unknown = set(schema) - _IGNORED - _KEYWORDS
        if unknown:
            raise ValueError(f"schema keywords not supported here: {sorted(unknown)}")
        checks = [check for key in schema if (check := self._keyword(key, schema)) is not None]
        if _OBJECT_KEYS & set(schema):  # the three object keywords make one check
            checks.append(self._object(schema))

        def run(value: Any) -> str | None:
            for check in checks:
                error = check(value)
                if error is not None:
                    return error
            return None

        return run

    def _keyword(self, key: str, schema: dict[str, Any]) -> Check | None:
        arg = schema[key]
        if key == "$ref":
            # Resolved at first use, so that a schema may refer to itself.
            return lambda v: self.ref(arg)(v)  # noqa: PLW0108
        if key == "type":
            names = arg if isinstance(arg, list) else [arg]
            tests = [_TYPES[n] for n in names]
            return lambda v: None if any(t(v) for t in tests) else f": not {names}: {v!r:.60}"
        if key == "const":
            return lambda v: None if v == arg else f": not {arg!r}"
        if key == "enum":
            return lambda v: None if v in arg else f": {v!r:.60} not in the enum"
        if key == "pattern":
            rx = re.compile(arg)
            return lambda v: None if not isinstance(v, str) or rx.search(v) else f": {v!r:.60}"
        if key == "minLength":
            return lambda v: None if not isinstance(v, str) or len(v) >= arg else ": too short"
        if key in _BOUNDS:
            fails = _BOUNDS[key]
            return lambda v: (
                f": {v} out of range" if _TYPES["number"](v) and fails(v, arg) else None
            )
        if key == "minItems":
            return lambda v: None if not isinstance(v, list) or len(v) >= arg else ": too few"
        if key == "items":
            return _each_item(self.compile(arg))
        if key == "required":
            return lambda v: (
                next((f": no {k!r}" for k in arg if k not in v), None)
                if isinstance(v, dict)
                else None
            )
        return None  # an annotation, or an object keyword (see compile)

    def _object(self, schema: dict[str, Any]) -> Check:
        properties = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        extra_check = self.compile(extra) if isinstance(extra, dict) else None
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None

        def check(value: Any) -> str | None:
            if not isinstance(value, dict):
                return None
            for key, item in value.items():
                error = names(key) if names is not None else None
                if error is None:
                    if key in properties:
                        error = properties[key](item)
                    elif extra is False:
                        error = ": not allowed"
                    elif extra_check is not None:
                        error = extra_check(item)
                if error is not None:
                    return f"/{key}{error}"
            return None

        return check


_KEYWORDS = frozenset(
    "$ref type const enum pattern minLength minimum maximum exclusiveMinimum minItems items "
    "required properties additionalProperties propertyNames".split()
)
_OBJECT_KEYS = frozenset({"properties", "additionalProperties", "propertyNames"})
_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": lambda v, b: v < b,
    "maximum": lambda v, b: v > b,
    "exclusiveMinimum": lambda v, b: v <= b,
}


def _each_item(check: Check) -> Check:
    def run(value: Any) -> str | None:
        if not isinstance(value, list):
            return None
        for i, item in enumerate(value):
            error = check(item)
            if error is not None:
                return f"/{i}{error}"
        return None

    return run


@cache
def record_check() -> Check:
    """The compiled check of ``config/enriched-article.schema.json``."""
    schema = json.loads((CONFIG / "enriched-article.schema.json").read_text(encoding="utf-8"))
    return _Compiler(schema).compile(schema)


def first_error(record: Any) -> str | None:
    """Where ``record`` breaks the schema, or None when it is valid."""
    return record_check()(record)
