#!/usr/bin/env python3
"""Generates apiserver/src/apply/list_meta.rs from the k8s-pb crate.

k8s-openapi (our OpenAPI source) drops the Go markers that server-side apply
needs; k8s-pb keeps the Go doc comments on every message and field. This
script reads them and writes a Rust table of:

  * list fields: `+listType=atomic|set|map` with their `+listMapKey`s,
  * map fields: `+mapType=atomic|granular`,
  * struct types: `+structType=atomic|granular` (field ""),
  * the `+default=` of the key fields of map lists (e.g. ContainerPort.protocol
    defaults to "TCP", so `k:{"containerPort":80,"protocol":"TCP"}`).

Names are k8s-pb's: the message name with prost's casing
(`io.k8s.api.core.v1.HttpGetAction`) and the field name in lowerCamel case
rebuilt from prost's snake_case (`hostIp`). `apply::builtin::inject` matches
them to OpenAPI definitions and properties case-insensitively, ignoring
non-alphanumerics (the same normalization `protobuf::schema` uses).

Usage (from the repository root):

    python3 scripts/gen-list-types.py            # rewrite the table
    python3 scripts/gen-list-types.py --check    # exit 1 if it is stale

The k8s-pb source is found with --src, else through `cargo metadata`, else
under $CARGO_HOME/registry/src/*/k8s-pb-<VERSION>.
"""

import glob
import json
import os
import re

from k8s_pb import ROOT, VERSION, main, package, resolve_type

OUT = os.path.join(ROOT, "apiserver", "src", "apply", "list_meta.rs")

STRUCT_RE = re.compile(r"^pub struct (\w+) \{")
FIELD_RE = re.compile(r"^pub (?:r#)?(\w+):\s*(.*)$")
MARKER_RE = re.compile(r"^///\s*\+(listType|listMapKey|mapType|structType|default)=(.*?)\s*$")


def lower_camel(snake):
    words = [w for w in snake.split("_") if w]
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:]) if words else snake


def parse_file(path, module, messages):
    """messages[name] = {"markers": {...}, "fields": [(json, markers, elem_type)]}"""
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    pkg = package(module)
    pending = []
    current = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER_RE.match(line)
        if m:
            pending.append((m.group(1), m.group(2)))
        elif line.startswith("//") or line.startswith("#["):
            pass
        elif STRUCT_RE.match(line):
            name = f"{pkg}.{STRUCT_RE.match(line).group(1)}"
            current = {"markers": pending, "fields": []}
            messages[name] = current
            pending = []
        elif line == "}":
            current, pending = None, []
        elif current is not None and FIELD_RE.match(line):
            fm = FIELD_RE.match(line)
            decl = fm.group(2)
            while not decl.endswith(",") or decl.count("<") != decl.count(">"):
                i += 1
                decl += " " + lines[i]
            current["fields"].append((lower_camel(fm.group(1)), pending, resolve_type(decl, module)))
            pending = []
        else:
            pending = []
        i += 1


def rust_str(s):
    return json.dumps(s)


def generate(src):
    messages = {}
    for path in sorted(glob.glob(os.path.join(src, "**", "mod.rs"), recursive=True)):
        module = os.path.relpath(os.path.dirname(path), src).split(os.sep)
        parse_file(path, module, messages)
    # Go structs embedded inline (`json:",inline"`) are fields named after
    # their type in k8s-pb (EphemeralContainer.ephemeralContainerCommon) but
    # flattened in OpenAPI. Which same-named fields are inline only OpenAPI
    # knows, so every candidate is listed and `apply::builtin` checks.
    embedded = []
    for name in sorted(messages):
        for field, _, elem in messages[name]["fields"]:
            short = elem.rsplit(".", 1)[-1] if elem else ""
            if elem in messages and short and field == short[:1].lower() + short[1:]:
                embedded.append((name, field, elem))
    rows, defaults = [], set()
    for name in sorted(messages):
        msg = messages[name]
        struct_type = [v for k, v in msg["markers"] if k == "structType"]
        if struct_type:
            rows.append((name, "", "", [], struct_type[-1]))
        for field, markers, elem in msg["fields"]:
            get = lambda key: [v for k, v in markers if k == key]
            list_type = (get("listType") or [""])[-1]
            keys = get("listMapKey")
            map_type = (get("mapType") or get("structType") or [""])[-1]
            if list_type or map_type:
                rows.append((name, field, list_type, keys, map_type))
            if list_type == "map" and elem in messages:
                for key in keys:
                    for efield, emarkers, _ in messages[elem]["fields"]:
                        d = [v for k, v in emarkers if k == "default"]
                        if efield == key and d and not d[-1].startswith("ref("):
                            defaults.add((elem, key, d[-1]))
    out = [
        "// @generated by scripts/gen-list-types.py from the k8s-pb crate; do not edit.",
        "// Regenerate: python3 scripts/gen-list-types.py",
        "",
        "//! The Go markers server-side apply needs (`+listType`, `+listMapKey`,",
        "//! `+mapType`, `+structType`, and the `+default` of list-map key fields)",
        "//! for every k8s-pb message; see `apply::builtin` for how they reach the",
        "//! OpenAPI definitions.",
        "",
        "/// The k8s-pb release this table was generated from.",
        f'pub const K8S_PB_VERSION: &str = "{VERSION}";',
        "",
        "/// One marked field (or, with `field == \"\"`, a marked struct type).",
        "#[derive(Debug, Clone, Copy, PartialEq, Eq)]",
        "pub struct ListMeta {",
        "    /// k8s-pb message name, e.g. `io.k8s.api.core.v1.Container`.",
        "    pub definition: &'static str,",
        "    /// Field name in lowerCamel case (\"\" for the type itself).",
        "    pub field: &'static str,",
        "    /// `atomic`, `set`, `map` or \"\".",
        "    pub list_type: &'static str,",
        "    /// The `+listMapKey`s of a `map` list.",
        "    pub keys: &'static [&'static str],",
        "    /// `atomic`, `granular` or \"\" (`+mapType`, or `+structType` on types).",
        "    pub map_type: &'static str,",
        "}",
        "",
        "const fn r(",
        "    definition: &'static str,",
        "    field: &'static str,",
        "    list_type: &'static str,",
        "    keys: &'static [&'static str],",
        "    map_type: &'static str,",
        ") -> ListMeta {",
        "    ListMeta { definition, field, list_type, keys, map_type }",
        "}",
        "",
        "/// Every marked field and type, sorted by message then Go field order.",
        "pub static LIST_META: &[ListMeta] = &[",
    ]
    for name, field, list_type, keys, map_type in rows:
        k = ", ".join(rust_str(x) for x in keys)
        out.append(f"    r({rust_str(name)}, {rust_str(field)}, {rust_str(list_type)}, &[{k}], {rust_str(map_type)}),")
    out += [
        "];",
        "",
        "/// (message, field, default as JSON) for key fields of map lists.",
        "pub static KEY_DEFAULTS: &[(&str, &str, &str)] = &[",
    ]
    for elem, key, d in sorted(defaults):
        out.append(f"    ({rust_str(elem)}, {rust_str(key)}, {rust_str(d)}),")
    out += [
        "];",
        "",
        "/// (message, field, field's message) where the field is named after its",
        "/// type: an inline-embedded Go struct when OpenAPI lacks the property.",
        "pub static EMBEDDED: &[(&str, &str, &str)] = &[",
    ]
    for outer, field, inner in embedded:
        out.append(f"    ({rust_str(outer)}, {rust_str(field)}, {rust_str(inner)}),")
    out += ["];", ""]
    return "\n".join(out)


if __name__ == "__main__":
    main(__doc__.splitlines()[0], OUT, generate, "gen-list-types.py")
