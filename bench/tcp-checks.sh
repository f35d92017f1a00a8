#!/usr/bin/env bash
# Benchmark: large check files. For each size N (default 1,000, 10,000 and 100,000 open-port
# checks) it generates a check file, then measures wall time and peak RSS (GNU time, median of
# RUNS runs) of `reach validate FILE`, `reach run FILE --format json -o REPORT` and
# `reach run FILE -o REPORT` (human), the report writing included, with nmap's connect scan of
# the same ports as a reference when nmap is installed. Every run must pass all N checks.
#
# The checks go to loopback listeners (bench/listeners.py) on PER_HOST ports of each address
# 127.0.0.2, 127.0.0.3, ... (a 100,000-check file spans four), below the ephemeral port range
# so that other programs' connects are not short of ports. Traffic: 127.0.0.0/8 only.
#
# SHAPE=tables (the default) writes one [[check]] table per check, its host through a [vars]
# variable, as an inventory generator would; SHAPE=ranges writes one table per address with a
# port range.
#
#   bench/tcp-checks.sh                     # RUNS=5 FIRST_PORT=5000 PER_HOST=25000 SHAPE=tables
#   bench/tcp-checks.sh 100000              # one size
#   REACH=/tmp/reach-old bench/tcp-checks.sh 100000   # another build (no cargo build then)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
FIRST_PORT=${FIRST_PORT:-5000}
PER_HOST=${PER_HOST:-25000}
SHAPE=${SHAPE:-tables}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
command -v bc >/dev/null || { echo "needs bc (apt-get install bc)" >&2; exit 2; }
[ $((FIRST_PORT + PER_HOST - 1)) -lt 32768 ] || { echo "FIRST_PORT+PER_HOST reaches the ephemeral port range" >&2; exit 2; }
if [ -n "${REACH:-}" ]; then
    reach=$REACH
else
    cargo build --release --quiet
    reach=target/release/reach
fi
work=$(mktemp -d)
trap 'exec 3>&-; rm -rf "$work"' EXIT

max=$(printf '%s\n' "${sizes[@]}" | sort -n | tail -1)
hosts=$(( (max + PER_HOST - 1) / PER_HOST ))
per_host=$(( max < PER_HOST ? max : PER_HOST ))
addresses=()
for h in $(seq 0 $((hosts - 1))); do addresses+=("127.0.0.$((h + 2))"); done

# Listeners on FIRST_PORT .. FIRST_PORT+per_host-1 of every address, alive until fd 3 closes.
coproc LISTENERS { python3 bench/listeners.py "$FIRST_PORT" "$per_host" "${addresses[@]}"; }
exec 3>&"${LISTENERS[1]}"
read -r ready <&"${LISTENERS[0]}"
[ "$ready" = ready ] || { echo "listeners failed to start: $ready" >&2; exit 1; }
# Accepts and closes what a run left queued, outside the timed part.
drain() {
    echo drain >&3
    read -r drained <&"${LISTENERS[0]}"
    [ "$drained" = drained ] || { echo "listeners did not drain" >&2; exit 1; }
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# measure LABEL COMMAND...: runs it RUNS times, prints the median wall seconds, CPU seconds
# (user + system; on loopback the kernel's work for both ends of every connection is charged
# to the process that connects) and peak RSS in MiB.
measure() {
    local label=$1; shift
    local walls=() cpus=() rss=()
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
            code=$?; [ $code -le 1 ] || { echo "$label failed ($code):"; cat "$work/err"; exit 1; }; }
        drain
        read -r wall user sys kib <"$work/time"
        walls+=("$wall"); cpus+=("$(echo "$user + $sys" | bc)"); rss+=("$kib")
    done
    printf '%-40s wall %7.3f s   CPU %7.3f s   peak RSS %7.1f MiB\n' "$label" \
        "$(printf '%s\n' "${walls[@]}" | median)" \
        "$(printf '%s\n' "${cpus[@]}" | median)" \
        "$(printf '%s\n' "${rss[@]}" | median | awk '{print $1/1024}')"
}

# spec N: a check file of N open-port checks over the addresses, in the chosen shape.
spec() {
    awk -v n="$1" -v per="$PER_HOST" -v first="$FIRST_PORT" -v shape="$SHAPE" 'BEGIN {
        hosts = int((n + per - 1) / per)
        print "profile = \"bench\""
        print "[vars]"
        for (h = 0; h < hosts; h++) printf "host%d = \"127.0.0.%d\"\n", h, h + 2
        if (shape == "ranges") {
            for (h = 0; h < hosts; h++) {
                count = (n - h * per < per) ? n - h * per : per
                printf "\n[[check]]\nkind = \"tcp\"\nhost = \"{host%d}\"\nports = \"%d-%d\"\nexpect = \"open\"\n", h, first, first + count - 1
            }
        } else {
            for (i = 0; i < n; i++)
                printf "\n[[check]]\nkind = \"tcp\"\nhost = \"{host%d}\"\nport = %d\nexpect = \"open\"\n", int(i / per), first + i % per
        }
    }'
}

echo "reach: $reach; shape: $SHAPE; $RUNS runs each, medians"
for n in "${sizes[@]}"; do
    spec "$n" >"$work/spec-$n.toml"
    echo "-- $n checks ($(du -k "$work/spec-$n.toml" | cut -f1) KiB check file)"
    measure "reach validate" "$reach" validate "$work/spec-$n.toml"
    grep -qx "ok: $n checks in 1 file" "$work/out" || { echo "validate said: $(cat "$work/out")" >&2; exit 1; }
    measure "reach run --format json -o FILE" "$reach" run "$work/spec-$n.toml" --format json -o "$work/report.json"
    passed=$(grep -c '"status": "pass"' "$work/report.json" || true)
    [ "$passed" -eq "$n" ] || { echo "expected $n passes, got $passed" >&2; exit 1; }
    measure "reach run -o FILE (human)" "$reach" run "$work/spec-$n.toml" -o "$work/report.txt"
    grep -q "$n checks" "$work/report.txt" || { echo "the human report does not count $n checks" >&2; exit 1; }
    if command -v nmap >/dev/null; then
        span=$(( n < PER_HOST ? n : PER_HOST ))
        last_host=$(( (n + PER_HOST - 1) / PER_HOST + 1 ))
        measure "nmap -sT, $n ports (reference)" \
            nmap -sT -Pn -n -p "$FIRST_PORT-$((FIRST_PORT + span - 1))" "127.0.0.2-$last_host"
    fi
done
