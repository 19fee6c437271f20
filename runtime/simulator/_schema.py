"""Build JSON values that satisfy a JSON Schema, and values that break one.

Covers what pydantic's ``model_json_schema()`` and OpenAI tool definitions
emit: objects, arrays, strings (enum, format, length), integers and numbers
(bounds), booleans, null, ``const``, ``$defs``/``$ref``, ``anyOf``/``oneOf``
(first non-null branch) and ``allOf`` (merged). ``pattern`` and
``multipleOf`` are not honoured.
"""

from __future__ import annotations

import uuid
from typing import Any

from ._text import Words

__all__ = ["SchemaFaker", "break_instance"]

# Past this depth, recursive schemas are cut short: optional fields are left out,
# arrays take their minimum length and anyOf takes a null branch when it has one.
_MAX_DEPTH = 6
# Beyond this, give up on validity: a schema that recurses through required
# fields with no way out has no finite instance.
_GIVE_UP_DEPTH = 24
_LONG_TEXT_KEYS = (
    "summary",
    "description",
    "reason",
    "explanation",
    "answer",
    "text",
    "content",
    "message",
    "body",
    "rationale",
    "comment",
    "notes",
)
_FORMATS = {
    "date-time": "2024-05-17T09:30:00Z",
    "date": "2024-05-17",
    "time": "09:30:00",
    "email": "user@example.com",
    "uri": "https://example.com/item",
    "url": "https://example.com/item",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "duration": "PT1H",
}


class SchemaFaker:
    """Generates instances of JSON Schemas from a request's words and RNG.

    Args:
        words: Phrase source; its RNG drives every choice.
    """

    def __init__(self, words: Words) -> None:
        self._words = words
        self._rng = words.rng

    def instance(self, schema: dict[str, Any]) -> Any:
        """Return a value valid against ``schema`` (its own root for ``$ref``)."""
        return self._value(schema, schema, "", 0)

    def _value(self, node: Any, root: dict[str, Any], key: str, depth: int) -> Any:
        node = resolve(node, root)
        if depth > _GIVE_UP_DEPTH:
            return None
        if not isinstance(node, dict):
            return self._words.phrase()
        if "const" in node:
            return node["const"]
        if node.get("enum"):
            return self._rng.choice(node["enum"])
        for combinator in ("anyOf", "oneOf"):
            branches = node.get(combinator)
            if branches:
                branch = _pick_branch(branches, root, prefer_null=depth >= _MAX_DEPTH)
                return self._value(branch, root, key, depth)
        if node.get("allOf"):
            return self._value(_merge_all_of(node, root), root, key, depth)
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in node else "array" if "items" in node else "string"
        if kind == "object":
            return self._object(node, root, depth)
        if kind == "array":
            return self._array(node, root, key, depth)
        if kind == "integer":
            low, high = _bounds(node, integer=True)
            return self._rng.randint(int(low), int(high))
        if kind == "number":
            low, high = _bounds(node, integer=False)
            return round(self._rng.uniform(low, high), 2)
        if kind == "boolean":
            return self._rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(node, key)

    def _object(self, node: dict[str, Any], root: dict[str, Any], depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = node.get("properties") or {}
        required = set(node.get("required") or ())
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if depth >= _MAX_DEPTH and name not in required:
                continue  # keeps recursive schemas (trees) finite
            out[name] = self._value(sub, root, name, depth + 1)
        return out

    def _array(self, node: dict[str, Any], root: dict[str, Any], key: str, depth: int) -> list[Any]:
        prefix = node.get("prefixItems")
        if isinstance(prefix, list):
            return [self._value(sub, root, key, depth + 1) for sub in prefix]
        low = int(node.get("minItems", 0))
        high = int(node.get("maxItems", max(low, 3)))
        # Nested arrays stay short, so that a recursive schema cannot fan out.
        wanted = self._rng.randint(1, 3) if depth < 3 else int(depth < _MAX_DEPTH)
        count = max(low, min(wanted, high))
        items = resolve(node.get("items", {}), root)
        if node.get("uniqueItems") and isinstance(items, dict) and items.get("enum"):
            choices = list(items["enum"])
            return self._rng.sample(choices, min(count, len(choices)))
        return [self._value(items, root, key, depth + 1) for _ in range(count)]

    def _string(self, node: dict[str, Any], key: str) -> str:
        fmt = node.get("format")
        if fmt == "uuid":
            text = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        elif isinstance(fmt, str) and fmt in _FORMATS:
            text = _FORMATS[fmt]
        elif any(hint in key.lower() for hint in _LONG_TEXT_KEYS):
            text = self._words.sentence()
        else:
            text = self._words.phrase(1, 4)
        low = int(node.get("minLength", 0))
        high = node.get("maxLength")
        while len(text) < low:
            text = f"{text} {self._words.word()}"
        if high is not None:
            text = text[: int(high)]
        return text


def resolve(node: Any, root: dict[str, Any]) -> Any:
    """Follow local ``$ref`` pointers (``#/$defs/X``) until a real node."""
    for _ in range(32):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node
        target: Any = root
        for part in node["$ref"].lstrip("#").strip("/").split("/"):
            if not part:
                continue
            name = part.replace("~1", "/").replace("~0", "~")
            target = target.get(name, {}) if isinstance(target, dict) else {}
        node = target
    return node


def _pick_branch(branches: list[Any], root: dict[str, Any], prefer_null: bool) -> Any:
    """The first non-null branch, or the null one when cutting recursion short."""
    for branch in branches:
        target = resolve(branch, root)
        is_null = isinstance(target, dict) and target.get("type") == "null"
        if is_null == prefer_null:
            return branch
    return branches[0]


def _merge_all_of(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    for part in node["allOf"]:
        target = resolve(part, root)
        if not isinstance(target, dict):
            continue
        for k, v in target.items():
            if k == "properties":
                merged["properties"] = {**merged.get("properties", {}), **v}
            elif k == "required":
                merged["required"] = [*merged.get("required", []), *v]
            else:
                merged.setdefault(k, v)
    return merged


def _bounds(node: dict[str, Any], integer: bool) -> tuple[float, float]:
    step = 1 if integer else 0.01
    low = float(node.get("minimum", -1e308))
    high = float(node.get("maximum", 1e308))
    if "exclusiveMinimum" in node:
        low = max(low, float(node["exclusiveMinimum"]) + step)
    if "exclusiveMaximum" in node:
        high = min(high, float(node["exclusiveMaximum"]) - step)
    if low <= -1e308 and high >= 1e308:
        low, high = 0.0, 100.0
    elif low <= -1e308:
        low = high - 100.0
    elif high >= 1e308:
        high = low + 100.0
    if integer:
        low, high = float(int(-(-low // 1))), float(int(high // 1))
    return low, max(low, high)


def break_instance(value: Any, schema: dict[str, Any]) -> Any:
    """Return a copy of ``value`` that violates ``schema`` in a plausible way.

    Drops a required field if the root object has one, else puts a value
    outside an enum, else gives a property the wrong type.
    """
    node = resolve(schema, schema)
    if not isinstance(value, dict) or not isinstance(node, dict):
        return {"unexpected": value}
    broken = dict(value)
    required = [name for name in node.get("required") or () if name in broken]
    if required:
        del broken[required[0]]
        return broken
    properties: dict[str, Any] = node.get("properties") or {}
    for name, sub in properties.items():
        target = resolve(sub, schema)
        if isinstance(target, dict) and target.get("enum") and name in broken:
            broken[name] = "__not_a_valid_choice__"
            return broken
    for name in properties:
        if name in broken:
            broken[name] = 12345 if isinstance(broken[name], str) else "not the right type"
            return broken
    broken["__unexpected__"] = True
    return broken
