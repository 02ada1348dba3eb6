#!/usr/bin/env python3
"""Validate OCSF audit records (JSON Lines) against the vendored OCSF schemas.

Usage:
    python3 scripts/validate_ocsf.py [--schema-dir DIR] [--strict] [--any-version] [FILE|-]

Reads one JSON object per line from FILE (or stdin when FILE is omitted or
"-"); blank lines are skipped. Each record's schema is chosen by its
`class_uid` from the *.json class schemas in the schema directory (default:
schemas/ocsf/<DEFAULT_VERSION>/ next to this script's repository), e.g.
3001 account_change, 3002 authentication, 3004 entity_management,
3006 group_management.

Besides the JSON Schema, each record's `metadata.version` must equal the
schema's OCSF version (disable with --any-version). With --strict, unknown
properties are rejected in every object that has declared properties (catches
typos; OCSF itself allows extra attributes, so this is off by default).

Exit status: 0 if at least one record was read and all are valid; 1 if any
record is invalid, is not JSON, has a class_uid without a schema, or no
record was read. Only the `jsonschema` package is required.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

try:
    from jsonschema import Draft202012Validator
except ImportError:  # pragma: no cover
    sys.exit("validate_ocsf.py: the `jsonschema` package is required (pip install jsonschema)")

DEFAULT_VERSION = "1.8.0"
REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_MSG = 300


def load_schemas(schema_dir: Path) -> dict[int, tuple[str, str, dict]]:
    """class_uid -> (class name, OCSF version, schema)."""
    out: dict[int, tuple[str, str, dict]] = {}
    for path in sorted(schema_dir.glob("*.json")):
        schema = json.loads(path.read_text())
        meta = schema.get("x-ocsf") or {}
        if "class_uid" not in meta:
            continue
        Draft202012Validator.check_schema(schema)
        out[int(meta["class_uid"])] = (meta.get("name", path.stem), meta.get("version", ""), schema)
    return out


def make_strict(node: Any) -> Any:
    """Close every object schema that declares properties."""
    if isinstance(node, dict):
        node = {k: make_strict(v) for k, v in node.items()}
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        return node
    if isinstance(node, list):
        return [make_strict(v) for v in node]
    return node


def fmt_path(path) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "<root>"


def describe(err) -> str:
    """Short message; spell out OCSF at_least_one / just_one constraints."""
    subs = err.schema.get(err.validator) if isinstance(err.schema, dict) else None
    if err.validator in ("anyOf", "oneOf") and isinstance(subs, list) and all(
        isinstance(s, dict) and set(s) == {"required"} for s in subs
    ):
        names = [s["required"][0] for s in subs]
        kind = "at least one" if err.validator == "anyOf" else "exactly one"
        return f"{kind} of {names} is required"
    if err.validator == "pattern" and isinstance(err.schema, dict):
        what = err.schema.get("title", "OCSF")
        return f"{err.instance!r} does not match the {what} pattern"
    msg = err.message
    return msg if len(msg) <= MAX_MSG else msg[: MAX_MSG - 3] + "..."


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", nargs="?", default="-", help="JSON Lines file (default: stdin)")
    ap.add_argument(
        "--schema-dir",
        type=Path,
        default=REPO_ROOT / "schemas" / "ocsf" / DEFAULT_VERSION,
        help="directory of class schemas (default: %(default)s)",
    )
    ap.add_argument("--strict", action="store_true", help="reject attributes not defined by OCSF")
    ap.add_argument("--any-version", action="store_true", help="do not check metadata.version")
    args = ap.parse_args()

    schemas = load_schemas(args.schema_dir)
    if not schemas:
        print(f"error: no class schemas found in {args.schema_dir}", file=sys.stderr)
        return 1
    validators = {
        uid: Draft202012Validator(make_strict(copy.deepcopy(s)) if args.strict else s)
        for uid, (_, _, s) in schemas.items()
    }

    stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    total = 0
    bad_records = 0
    seen: Counter[int | str] = Counter()
    bad: Counter[int | str] = Counter()
    with stream:
        for lineno, line in enumerate(stream, 1):
            if not line.strip():
                continue
            total += 1
            errors: list[str] = []
            key: int | str = "?"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"<line>: invalid JSON: {e}")
                record = None
            if record is not None and not isinstance(record, dict):
                errors.append("<root>: record is not a JSON object")
                record = None
            if record is not None:
                cuid = record.get("class_uid")
                key = cuid if isinstance(cuid, int) and not isinstance(cuid, bool) else repr(cuid)
                if key not in validators:
                    known = ", ".join(f"{u} ({schemas[u][0]})" for u in sorted(schemas))
                    errors.append(f"class_uid: no schema for class_uid {cuid!r} (known: {known})")
                else:
                    name, version, _ = schemas[key]
                    for err in sorted(validators[key].iter_errors(record), key=lambda e: list(map(str, e.absolute_path))):
                        errors.append(f"{fmt_path(err.absolute_path)}: {describe(err)}")
                    meta = record.get("metadata")
                    got = meta.get("version") if isinstance(meta, dict) else None
                    if not args.any_version and isinstance(got, str) and got != version:
                        errors.append(f"metadata.version: {got!r} is not the schema version {version!r}")
            seen[key] += 1
            if errors:
                bad_records += 1
                bad[key] += 1
                label = f"class_uid {key}" + (f" ({schemas[key][0]})" if key in schemas else "")
                for e in errors:
                    print(f"line {lineno}: {label}: {e}")

    if total == 0:
        print("error: no records read", file=sys.stderr)
        return 1
    for key in sorted(seen, key=str):
        name = schemas[key][0] if key in schemas else "no schema"
        print(f"class_uid {key} ({name}): {seen[key]} record(s), {seen[key] - bad[key]} valid, {bad[key]} invalid")
    print(f"total: {total} record(s), {total - bad_records} valid, {bad_records} invalid")
    return 1 if bad_records else 0


if __name__ == "__main__":
    sys.exit(main())
