#!/usr/bin/env python3
"""Generate self-contained JSON Schemas (draft 2020-12) for selected OCSF event
classes from a schema compiled by ocsf-lib (`python -m ocsf.compile`).

ocsf-lib (0.10.x) compiles an ocsf-schema checkout into one JSON document
(classes, objects, types) but has no JSON Schema export, so this script does
that conversion. See README.md in this directory for the exact commands.

Usage:
    python generate.py --compiled compiled.json --repo /path/to/ocsf-schema \
        --out 1.8.0 authentication account_change group_management entity_management

Mapping rules:
  * every class / object attribute becomes a typed property; objects are
    emitted once under $defs and referenced with $ref (recursion is fine);
  * `requirement: required` -> JSON Schema `required`;
  * attributes contributed by a profile (cloud, host, osint, datetime, ...) are
    left out unless the profile is selected with --profile, like the OCSF
    server does; they are then allowed through the open additionalProperties;
  * enum attributes (`*_id`, `http_method`, ...) -> `enum`, the captions are
    kept in the annotation `x-ocsf-enum`;
  * OCSF scalar types -> JSON types (timestamp_t/long_t/integer_t/port_t ->
    integer, float_t -> number, boolean_t -> boolean, json_t -> anything,
    string-derived types -> string with the OCSF regex/max_len where defined);
  * object/class constraints: at_least_one -> anyOf of required, just_one ->
    oneOf of required (read from the raw repository files, because ocsf-lib
    0.10.4 lets a parent's constraints overwrite the child's when merging
    `extends`);
  * type_uid must equal class_uid * 100 + activity_id (if/then per activity);
  * additionalProperties is left open (OCSF allows `unmapped` and profiles).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

# OCSF base scalar types -> JSON Schema. Derived types (ip_t, email_t,
# timestamp_t, ...) are resolved through the compiled schema's `types`.
BASE_TYPES: dict[str, dict[str, Any]] = {
    "string_t": {"type": "string"},
    "integer_t": {"type": "integer"},
    "long_t": {"type": "integer"},
    "float_t": {"type": "number"},
    "boolean_t": {"type": "boolean"},
    "json_t": {},
}
INLINE_TYPES = set(BASE_TYPES)


def load_raw(repo: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """Raw (uncompiled) object and event definitions keyed by name (core only)."""
    objects: dict[str, dict] = {}
    events: dict[str, dict] = {}
    for p in sorted((repo / "objects").glob("*.json")):
        d = json.loads(p.read_text())
        objects[d.get("name", p.stem)] = d
    for p in sorted((repo / "events").rglob("*.json")):
        d = json.loads(p.read_text())
        events[d.get("name", p.stem)] = d
    return objects, events


def raw_profile_cleared(name: str, attr: str, raw: dict[str, dict]) -> bool:
    """True if the nearest definition of `attr` in the extends chain says
    `"profile": null`, i.e. the attribute is part of the class itself even
    though a profile also defines it (ocsf-lib 0.10.4 keeps the profile mark)."""
    seen = set()
    while name and name in raw and name not in seen:
        seen.add(name)
        d = raw[name].get("attributes", {}).get(attr)
        if isinstance(d, dict) and "profile" in d:
            return d["profile"] is None
        name = raw[name].get("extends")
    return False


def raw_constraints(name: str, raw: dict[str, dict]) -> dict[str, list[str]] | None:
    """Constraints of the nearest definition in the extends chain (child wins)."""
    seen = set()
    while name and name in raw and name not in seen:
        seen.add(name)
        d = raw[name]
        if d.get("constraints"):
            return d["constraints"]
        name = d.get("extends")
    return None


class Gen:
    def __init__(self, compiled: dict, raw_objects: dict, raw_events: dict, profiles: list[str]):
        self.s = compiled
        self.raw_objects = raw_objects
        self.raw_events = raw_events
        self.profiles = set(profiles)
        self.defs: dict[str, Any] = {}

    # -- types ---------------------------------------------------------------
    def type_schema(self, tname: str) -> dict[str, Any]:
        if tname in INLINE_TYPES:
            return dict(BASE_TYPES[tname])
        if tname not in self.defs:
            t = self.s["types"][tname]
            base = t.get("type") or "string_t"
            # walk to a base type (timestamp_t -> long_t, port_t -> integer_t)
            while base not in BASE_TYPES:
                base = self.s["types"][base].get("type") or "string_t"
            d: dict[str, Any] = {"title": t["caption"], **BASE_TYPES[base]}
            if tname == "timestamp_t":
                d["description"] = "Milliseconds since the Unix epoch (UTC)."
            if t.get("regex"):
                d["pattern"] = t["regex"]
            if t.get("max_len"):
                d["maxLength"] = t["max_len"]
            if t.get("range"):
                d["minimum"], d["maximum"] = t["range"]
            if t.get("values") and base != "boolean_t":
                d["enum"] = t["values"]
            self.defs[tname] = d
        return {"$ref": f"#/$defs/{tname}"}

    # -- attributes ----------------------------------------------------------
    def attr_schema(self, name: str, a: dict, describe: bool) -> dict[str, Any]:
        if a["type"] == "object" and a.get("object_type"):
            item: dict[str, Any] = {"$ref": f"#/$defs/{self.object_def(a['object_type'])}"}
        elif a["type"].endswith("_t"):
            item = self.type_schema(a["type"])
        else:  # ocsf-lib without --set-object-types
            item = {"$ref": f"#/$defs/{self.object_def(a['type'])}"}
        if a.get("enum"):
            integer = a["type"] in ("integer_t", "long_t")
            keys = sorted(a["enum"], key=lambda k: (int(k) if integer else k))
            item["enum"] = [int(k) if integer else k for k in keys]
            item["x-ocsf-enum"] = {k: a["enum"][k]["caption"] for k in keys}
        if a.get("is_array"):
            sch: dict[str, Any] = {"type": "array", "items": item}
        else:
            sch = item
        out: dict[str, Any] = {}
        if describe:  # class-level attributes keep caption + description
            out["title"] = a.get("caption", name)
            if a.get("description"):
                out["description"] = a["description"]
        out.update(sch)
        if a.get("requirement") in ("required", "recommended"):
            out["x-ocsf-requirement"] = a["requirement"]
        if a.get("profile"):
            out["x-ocsf-profile"] = a["profile"]
        if a.get("@deprecated"):
            out["deprecated"] = True
            out["x-ocsf-deprecated"] = a["@deprecated"].get("message")
        return out

    def included(self, a: dict) -> bool:
        """Profile attributes exist only when their profile is selected (as in
        the OCSF server's schema export); core attributes always do."""
        prof = a.get("profile")
        if not prof:
            return True
        profs = [prof] if isinstance(prof, str) else prof
        return any(p in self.profiles for p in profs)

    def properties(self, attrs: dict, describe: bool) -> tuple[dict, list[str]]:
        props = {}
        required = []
        for name in sorted(attrs):
            a = attrs[name]
            if not self.included(a):
                continue
            props[name] = self.attr_schema(name, a, describe)
            if a.get("requirement") == "required":
                required.append(name)
        return props, required

    @staticmethod
    def constraint_schema(constraints: dict[str, list[str]] | None, attrs: dict) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not constraints:
            return out
        for kind, key in (("at_least_one", "anyOf"), ("just_one", "oneOf")):
            names = [n for n in constraints.get(kind, []) if n in attrs]
            if names:
                out[key] = [{"required": [n]} for n in names]
                out[f"x-ocsf-{kind}"] = names
        return out

    def object_def(self, oname: str) -> str:
        if oname in self.defs:
            return oname
        o = self.s["objects"][oname]
        self.defs[oname] = {}  # placeholder: breaks recursion
        props, required = self.properties(o["attributes"], describe=False)
        d: dict[str, Any] = {"title": o["caption"], "type": "object"}
        if props:
            d["properties"] = props
        if required:
            d["required"] = required
        d.update(self.constraint_schema(raw_constraints(oname, self.raw_objects), o["attributes"]))
        if o.get("@deprecated"):
            d["deprecated"] = True
        self.defs[oname] = d
        return oname

    # -- classes -------------------------------------------------------------
    def class_schema(self, cname: str, version: str) -> dict[str, Any]:
        self.defs = {}
        c = self.s["classes"][cname]
        attrs = c["attributes"]
        for name, a in attrs.items():
            if a.get("profile") and raw_profile_cleared(cname, name, self.raw_events):
                a["profile"] = None
        props, required = self.properties(attrs, describe=True)
        uid = c["uid"]
        cat_uid = next(iter(attrs["category_uid"]["enum"]))
        acts = sorted((int(k), v["caption"]) for k, v in attrs["activity_id"]["enum"].items())

        all_of: list[dict[str, Any]] = []
        # type_uid = class_uid * 100 + activity_id
        for act, _ in acts:
            all_of.append(
                {
                    "if": {"properties": {"activity_id": {"const": act}}, "required": ["activity_id"]},
                    "then": {"properties": {"type_uid": {"const": uid * 100 + act}}},
                }
            )
        schema: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:ocsf:schema:{version}:class:{cname}",
            "title": f"OCSF {version} {c['caption']} [{uid}]",
            "description": c.get("description", ""),
            "x-ocsf": {
                "version": version,
                "class_uid": uid,
                "class_name": c["caption"],
                "name": cname,
                "category_uid": int(cat_uid),
                "category_name": attrs["category_uid"]["enum"][cat_uid]["caption"],
                "profiles_available": sorted(c.get("profiles") or []),
                "profiles_included": sorted(self.profiles),
                "activities": {str(k): v for k, v in acts},
            },
            "type": "object",
            "properties": props,
            "required": required,
        }
        schema.update(self.constraint_schema(raw_constraints(cname, self.raw_events), attrs))
        schema["allOf"] = all_of
        schema["$defs"] = dict(sorted(self.defs.items()))
        return schema


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compiled", required=True, help="output of `python -m ocsf.compile <repo>`")
    ap.add_argument("--repo", required=True, help="the ocsf-schema checkout that was compiled")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument(
        "--profile",
        action="append",
        default=[],
        help="include this profile's attributes (repeatable; default: none, i.e. core attributes only)",
    )
    ap.add_argument("classes", nargs="+", help="class names, e.g. authentication")
    args = ap.parse_args()

    compiled = json.loads(Path(args.compiled).read_text())
    version = compiled["version"]
    raw_objects, raw_events = load_raw(Path(args.repo))
    gen = Gen(compiled, raw_objects, raw_events, args.profile)
    os.makedirs(args.out, exist_ok=True)
    for cname in args.classes:
        schema = gen.class_schema(cname, version)
        path = Path(args.out) / f"{cname}.json"
        path.write_text(json.dumps(schema, indent=1, ensure_ascii=False) + "\n")
        print(f"{path}: {path.stat().st_size} bytes, {len(schema['$defs'])} defs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
