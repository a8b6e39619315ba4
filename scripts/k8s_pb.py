"""Shared by the generators that read the k8s-pb crate's source
(gen-protobuf-schema.py, gen-list-types.py): finding the source, naming
messages, and the `--check`/write command line."""

import argparse
import glob
import json
import os
import subprocess
import sys

VERSION = "0.9.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_source(explicit):
    """k8s-pb's src/: --src, else `cargo metadata`, else $CARGO_HOME/registry/src."""
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
    """The canonical message name a Rust type path refers to, seen from
    `module`, or None for a scalar (`::prost::alloc::string::String`, …)."""
    ty = ty.strip().rstrip(",").strip()
    for wrapper in ("::core::option::Option<", "::prost::alloc::vec::Vec<", "::prost::alloc::boxed::Box<"):
        while ty.startswith(wrapper):
            ty = ty[len(wrapper) : -1].strip().rstrip(",").strip()
    if ty.startswith("::"):
        return None
    parts = ty.split("::")
    if parts[0] == "crate":
        mod, parts = [], parts[1:]
    else:
        mod = list(module)
        while parts and parts[0] == "super":
            mod.pop()
            parts = parts[1:]
    return package(mod + parts[:-1]) + "." + parts[-1]


def main(description, default_out, generate, script):
    """`[--src DIR] [--out FILE] [--check]`: write `generate(src)` to FILE, or
    with --check exit 1 when FILE differs from it."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--src", help="k8s-pb's src/ directory")
    ap.add_argument("--out", default=default_out)
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
            sys.exit(f"{args.out} is out of date: run python3 scripts/{script}")
        print(f"{args.out} is up to date")
        return
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}")
