#!/usr/bin/env bash
# Benchmark: N open-port checks in one `reach run` against loopback listeners.
# Reports wall time and peak RSS (GNU time) for 1,000 and 10,000 checks, median of RUNS runs,
# with nmap's connect scan of the same ports as a reference when nmap is installed.
# Traffic: 127.0.0.1 only.
#
#   bench/tcp-checks.sh            # RUNS=5 FIRST_PORT=20000
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
FIRST_PORT=${FIRST_PORT:-20000}
MAX=10000
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
cargo build --release --quiet
reach=target/release/reach
work=$(mktemp -d)
trap 'exec 3>&-; rm -rf "$work"' EXIT

# Listeners on FIRST_PORT .. FIRST_PORT+MAX-1, alive until fd 3 closes.
coproc LISTENERS { python3 bench/listeners.py "$FIRST_PORT" "$MAX"; }
exec 3>&"${LISTENERS[1]}"
read -r ready <&"${LISTENERS[0]}"
[ "$ready" = ready ] || { echo "listeners failed to start" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# measure LABEL COMMAND...: runs it RUNS times, prints median wall seconds and peak RSS in MiB.
measure() {
    local label=$1; shift
    local walls=() rss=()
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
            code=$?; [ $code -le 1 ] || { echo "$label failed ($code):"; cat "$work/err"; exit 1; }; }
        read -r wall kib <"$work/time"
        walls+=("$wall"); rss+=("$kib")
    done
    printf '%-34s wall %6.3f s   peak RSS %6.1f MiB\n' "$label" \
        "$(printf '%s\n' "${walls[@]}" | median)" \
        "$(printf '%s\n' "${rss[@]}" | median | awk '{print $1/1024}')"
}

for n in 1000 10000; do
    last=$((FIRST_PORT + n - 1))
    cat >"$work/spec-$n.toml" <<SPEC
profile = "bench"
[[check]]
kind = "tcp"
host = "127.0.0.1"
ports = "$FIRST_PORT-$last"
expect = "open"
SPEC
    measure "reach run, $n checks (json)" "$reach" run "$work/spec-$n.toml" --format json
    passed=$(grep -c '"status": "pass"' "$work/out" || true)
    [ "$passed" -eq "$n" ] || { echo "expected $n passes, got $passed" >&2; exit 1; }
    measure "reach run, $n checks (human)" "$reach" run "$work/spec-$n.toml"
    if command -v nmap >/dev/null; then
        measure "nmap -sT, $n ports (reference)" nmap -sT -Pn -n -p "$FIRST_PORT-$last" 127.0.0.1
    fi
done
