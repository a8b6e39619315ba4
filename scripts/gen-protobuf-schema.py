#!/usr/bin/env python3
"""Generates apiserver/src/protobuf/schema_gen.rs from the k8s-pb crate.

k8s-pb (crates.io) holds prost-generated structs for every Kubernetes API
message. This script reads its source and writes a compact Rust table: for
each message its canonical name (`io.k8s.api.core.v1.Secret`, with k8s-pb's
struct casing) and, per field, the tag, prost's snake_case name, the wire
type and the referenced message; plus the (apiVersion, kind) of every
resource and each API group's package. JSON names are recovered at run time
by matching the snake names against the OpenAPI definitions.

Usage (from the repository root):

    python3 scripts/gen-protobuf-schema.py            # rewrite the table
    python3 scripts/gen-protobuf-schema.py --check    # exit 1 if it is stale

The k8s-pb source is found with --src, else through `cargo metadata` (the
crate is a dev-dependency of capstan-apiserver), else under
$CARGO_HOME/registry/src/*/k8s-pb-<VERSION>.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys

VERSION = "0.9.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "apiserver", "src", "protobuf", "schema_gen.rs")

SCALARS = {
    "string": "Str",
    "bytes": "Bytes",
    "int32": "I32",
    "int64": "I64",
    "bool": "Bool",
    "double": "F64",
}

STRUCT_RE = re.compile(r"^pub struct (\w+) \{")
PROST_RE = re.compile(r"^#\[prost\((.*)\)\]$")
IMPL_RE = re.compile(r"^impl crate::Resource for (\w+) \{")
CONST_RE = re.compile(r'^const (API_VERSION|GROUP|VERSION|KIND): &\'static str = "([^"]*)";')


def find_source(explicit):
    if explicit:
        return explicit
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--manifest-path", os.path.join(ROOT, "Cargo.toml")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for pkg in json.loads(out)["packages"]:
            if pkg["name"] == "k8s-pb" and pkg["version"] == VERSION:
                return os.path.join(os.path.dirname(pkg["manifest_path"]), "src")
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        pass
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    hits = sorted(glob.glob(os.path.join(home, "registry", "src", "*", f"k8s-pb-{VERSION}", "src")))
    return hits[0] if hits else None


def package(module):
    """Canonical package of a k8s-pb module path (list of components)."""
    first = module[0].replace("_", "-")
    return ".".join(["io", "k8s", first] + module[1:])


def resolve_type(ty, module):
    """The canonical message name a Rust type path refers to, seen from `module`."""
    ty = ty.strip()
    for wrapper in ("::core::option::Option<", "::prost::alloc::vec::Vec<", "::prost::alloc::boxed::Box<"):
        while ty.startswith(wrapper):
            ty = ty[len(wrapper) : -1].strip().rstrip(",").strip()
    parts = ty.split("::")
    if parts[0] == "crate":
        mod, parts = [], parts[1:]
    else:
        mod = list(module)
        while parts and parts[0] == "super":
            mod.pop()
            parts = parts[1:]
    return package(mod + parts[:-1]) + "." + parts[-1]


def split_generics(ty):
    """`A<X, B<Y, Z>>` -> ['X', 'B<Y, Z>'] for the outermost generic list."""
    inner = ty[ty.index("<") + 1 : ty.rindex(">")]
    args, depth, cur = [], 0, ""
    for c in inner:
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        if c == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
    args.append(cur.strip())
    return args


def parse_field(attr, decl, module):
    name, ty = decl[len("pub ") :].split(":", 1)
    name = name.strip()
    if name.startswith("r#"):
        name = name[2:]
    ty = ty.strip().rstrip(",").strip()
    tag = int(re.search(r'tag = "(\d+)"', attr).group(1))
    m = re.match(r'btree_map = "string, (\w+)"', attr)
    if m:
        shape, kind = "Map", m.group(1)
        if kind == "message":
            target = resolve_type(split_generics(ty)[1], module)
    else:
        kind = re.match(r"(\w+)", attr).group(1)
        shape = "Many" if ", repeated" in attr else "One"
        if kind == "message":
            target = resolve_type(ty, module)
    if kind == "message":
        return (tag, name, shape, f'Msg("{target}")')
    if kind not in SCALARS:
        raise SystemExit(f"unsupported prost type {kind!r} in {'.'.join(module)}: {attr}")
    return (tag, name, shape, SCALARS[kind])


def parse_file(path, module, messages, resources):
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    pkg = package(module)
    i, current, impl = 0, None, None
    while i < len(lines):
        line = lines[i]
        if line.startswith("///") or line.startswith("//"):
            i += 1
            continue
        m = STRUCT_RE.match(line)
        if m:
            current = (f"{pkg}.{m.group(1)}", [])
            messages.append(current)
        elif line == "}":
            current, impl = None, None
        elif current is not None and PROST_RE.match(line):
            attr = PROST_RE.match(line).group(1)
            decl = lines[i + 1]
            i += 1
            while not decl.endswith(",") or decl.count("<") != decl.count(">"):
                i += 1
                decl += " " + lines[i]
            current[1].append(parse_field(attr, decl, module))
        m = IMPL_RE.match(line)
        if m:
            impl = {"msg": f"{pkg}.{m.group(1)}", "pkg": package(module[:-1])}
            resources.append(impl)
        m = CONST_RE.match(line)
        if impl is not None and m:
            impl[m.group(1)] = m.group(2)
        i += 1


def generate(src):
    messages, resources = [], []
    for path in sorted(glob.glob(os.path.join(src, "**", "mod.rs"), recursive=True)):
        module = os.path.relpath(os.path.dirname(path), src).split(os.sep)
        parse_file(path, module, messages, resources)
    messages.sort(key=lambda m: m[0])
    resources.sort(key=lambda r: (r["API_VERSION"], r["KIND"]))
    groups = sorted({(r["GROUP"], r["pkg"]) for r in resources})
    out = [
        "// @generated by scripts/gen-protobuf-schema.py from the k8s-pb crate; do not edit.",
        "// Regenerate: python3 scripts/gen-protobuf-schema.py",
        "",
        "use super::schema::{Field, Message, Resource, Shape::*, Ty::*};",
        "",
        "/// The k8s-pb release this table was generated from.",
        f'pub const K8S_PB_VERSION: &str = "{VERSION}";',
        "",
        "const fn f(tag: u32, name: &'static str, shape: super::schema::Shape, ty: super::schema::Ty) -> Field {",
        "    Field { tag, name, shape, ty }",
        "}",
        "",
        "/// (apiVersion, kind, message) of every resource k8s-pb declares.",
        "pub(super) static RESOURCES: &[Resource] = &[",
    ]
    for r in resources:
        out.append(f'    ("{r["API_VERSION"]}", "{r["KIND"]}", "{r["msg"]}"),')
    out += ["];", "", "/// API group -> package prefix (append `.<version>.<Kind>`).", "pub(super) static GROUPS: &[(&str, &str)] = &["]
    for g, p in groups:
        out.append(f'    ("{g}", "{p}"),')
    out += ["];", "", "/// Every message, sorted by name.", "pub(super) static MESSAGES: &[Message] = &["]
    for name, fields in messages:
        if not fields:
            out.append(f'    Message {{ name: "{name}", fields: &[] }},')
            continue
        out.append(f'    Message {{ name: "{name}", fields: &[')
        for tag, fname, shape, ty in sorted(fields):
            out.append(f'        f({tag}, "{fname}", {shape}, {ty}),')
        out.append("    ] },")
    out += ["];", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", help="k8s-pb's src/ directory")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--check", action="store_true", help="fail if --out differs from what would be generated")
    args = ap.parse_args()
    src = find_source(args.src)
    if not src or not os.path.isdir(src):
        sys.exit(f"k8s-pb {VERSION} source not found (run `cargo fetch` or pass --src)")
    text = generate(src)
    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = ""
        if current != text:
            sys.exit(f"{args.out} is out of date: run python3 scripts/gen-protobuf-schema.py")
        print(f"{args.out} is up to date")
        return
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
