#!/usr/bin/env bash
# bench/build-time.sh — the cost of a clean `cargo build --release` of this checkout: wall time
# and CPU time (user + sys, from /usr/bin/time). On a machine shared with other builds the wall
# time follows the share of the cores the build gets; the CPU time is the figure to compare.
# Also prints the ten longest compile units from `cargo build --timings` (their durations are
# wall times, so only their order means something on a busy machine).
#
# The target directory is a fresh one under /tmp (or $MEASURE_DIR), removed on exit: a build
# that reuses artifacts measures nothing.
#
# Needs: cargo, /usr/bin/time (Debian's `time`), python3 (for the timings summary).
# Usage: bench/build-time.sh            e.g. in two checkouts, before and after a change
set -euo pipefail
cd "$(dirname "$0")/.."

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
target=${MEASURE_DIR:-$(mktemp -d /tmp/reach-build-measure.XXXXXX)}
trap 'rm -rf "$target"' EXIT
log=$target.log

CARGO_TARGET_DIR=$target /usr/bin/time -f '%e %U %S' -o "$log" nice cargo build --release --timings --quiet
read -r wall user sys <"$log"
rm -f "$log"
cpu=$(python3 -c "print(round($user + $sys, 1))")
echo "clean release build: wall ${wall} s, CPU ${cpu} s (user ${user} s + sys ${sys} s)"
echo "compile units: $(find "$target/release/.fingerprint" -mindepth 1 -maxdepth 1 | wc -l)"

python3 - "$target"/cargo-timings/cargo-timing-*.html <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", text, re.S).group(1))
units.sort(key=lambda u: -u["duration"])
print("longest units (wall s, share of the summed unit times):")
total = sum(u["duration"] for u in units)
for u in units[:10]:
    print(f"  {u['duration']:7.1f}  {100 * u['duration'] / total:4.1f}%  {u['name']} {u['version']} {u.get('target', '').strip()}")
EOF
