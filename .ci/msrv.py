#!/usr/bin/env python3
"""Fails when a locked dependency needs a newer Rust than Cargo.toml's rust-version says.

cargo refuses a crate only when its rust-version is above the compiler that runs, never above
reach's own, so a build with a newer toolchain never notices. .ci/run also builds everything with
the compiler of that version (Debian's rustc-web), which is the proof; this is the quick check
that names every such crate at once and runs where that compiler is not installed (.ci/run not
as root). It reads the rust-version of every crate the lockfile builds for Linux (normal, build
and dev dependencies) and compares it with the declared MSRV."""
import json
import subprocess
import sys


def version(text):
    return tuple(int(part) for part in (text.split(".") + ["0", "0"])[:3])


meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--locked", "--format-version", "1",
     "--filter-platform", "x86_64-unknown-linux-gnu"]))
packages = {p["id"]: p for p in meta["packages"]}
root = meta["resolve"]["root"]
declared = packages[root]["rust_version"]
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

# Every crate reachable from reach, through any kind of dependency edge.
seen, todo = set(), [root]
while todo:
    node = todo.pop()
    if node in seen:
        continue
    seen.add(node)
    todo.extend(dep["pkg"] for dep in nodes[node]["deps"])

too_new = sorted(
    (packages[i]["name"], packages[i]["version"], packages[i]["rust_version"])
    for i in seen - {root}
    if packages[i].get("rust_version") and version(packages[i]["rust_version"]) > version(declared)
)
needed = max((packages[i]["rust_version"] for i in seen if packages[i].get("rust_version")), key=version)
for name, ver, rv in too_new:
    print(f"{name} {ver} needs Rust {rv}, above rust-version {declared}")
print(f"rust-version {declared}; the locked dependencies need {needed}")
sys.exit(1 if too_new else 0)
