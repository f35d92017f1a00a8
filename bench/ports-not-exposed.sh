#!/usr/bin/env bash
# Benchmark (issue 15): five `tcp` checks on one host through a firewall, side by side with
# `nmap -sT` on the same five ports, in the same run. Two network namespaces joined by a veth
# pair (198.18.0.1 server, 198.18.0.2 client, no default route): 80 and 443 open (listeners),
# 22 and 5432 dropped (iptables DROP), 6379 reset (iptables REJECT --reject-with tcp-reset).
# Prints the median wall time of RUNS runs of each tool and checks that their verdicts agree.
# Needs root, iproute2, iptables, python3, jq and nmap. Traffic: inside the namespaces only.
#
#   sudo bench/ports-not-exposed.sh          # RUNS=7, release build
#   REACH=target/debug/reach bench/ports-not-exposed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
for tool in ip iptables python3 jq nmap; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
if [ -z "${REACH:-}" ]; then
    cargo build --release --quiet
    REACH=target/release/reach
fi

id=$$
srv=reach-bsrv-$id
cli=reach-bcli-$id
work=$(mktemp -d)
listener=
cleanup() {
    [ -n "$listener" ] && kill "$listener" 2>/dev/null
    ip netns del "$srv" 2>/dev/null || true
    ip netns del "$cli" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
. bench/lib/netns.sh

veth_pair "$srv" "$cli" 198.18.0.1 198.18.0.2 >/dev/null
for port in 22 5432; do
    ip netns exec "$srv" iptables -A INPUT -p tcp --dport "$port" -j DROP
done
ip netns exec "$srv" iptables -A INPUT -p tcp --dport 6379 -j REJECT --reject-with tcp-reset
ip netns exec "$srv" python3 -c '
import socket, sys, time
held = []
for port in (80, 443):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.18.0.1", port)); s.listen(128); held.append(s)
print("ready", flush=True)
time.sleep(3600)
' >"$work/listener" &
listener=$!
for _ in $(seq 50); do grep -q ready "$work/listener" 2>/dev/null && break; sleep 0.1; done

cat >"$work/fw.toml" <<'SPEC'
profile = "fw"
[defaults]
timeout = "3s"
retries = 1

[[check]]
id = "web"
kind = "tcp"
host = "198.18.0.1"
ports = "80,443"
expect = "open"

[[check]]
id = "internal"
kind = "tcp"
host = "198.18.0.1"
ports = "22,5432,6379"
expect = "not-exposed"
SPEC

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }

reach_walls=() nmap_walls=()
for run in $(seq "$RUNS"); do
    start=$(now)
    ip netns exec "$cli" "$REACH" run "$work/fw.toml" --format json >"$work/reach.json" || true
    reach_walls+=("$(echo "$(now) - $start" | bc)")
    start=$(now)
    ip netns exec "$cli" nmap -sT -Pn -n -p 22,80,443,5432,6379 -oG - 198.18.0.1 >"$work/nmap.txt"
    nmap_walls+=("$(echo "$(now) - $start" | bc)")
    # Verdicts: port/state from each tool, sorted.
    jq -r '.checks[] | "\(.target | split(":")[1])/\(.observed.addresses[0].state)"' "$work/reach.json" \
        | sort -n >"$work/reach.states"
    grep -o 'Ports: .*' "$work/nmap.txt" | sed 's/^Ports: //' | tr ',' '\n' \
        | awk -F/ '{gsub(/ /, "", $1); print $1 "/" $2}' | sort -n >"$work/nmap.states"
    if ! diff -u "$work/nmap.states" "$work/reach.states" >"$work/diff"; then
        echo "run $run: verdicts differ (nmap vs reach):" >&2; cat "$work/diff" >&2; exit 1
    fi
done
echo "verdicts (both tools, every run): $(tr '\n' ' ' <"$work/reach.states")"
echo "reach waits for the dropped ports (last run):"
jq -r '.checks[] | select(.observed.addresses[0].state == "filtered")
    | "  \(.target): attempts \(.attempts), connects \(.observed.addresses[0].connects), waits \([.observed.addresses[0].timeouts[] | "\(.timeout_ms | floor) ms (\(.basis))"] | join(", "))"' \
    "$work/reach.json"
r=$(printf '%s\n' "${reach_walls[@]}" | median)
n=$(printf '%s\n' "${nmap_walls[@]}" | median)
printf 'reach run, 5 tcp checks       median %.3f s  (%s runs)\n' "$r" "$RUNS"
printf 'nmap -sT -Pn -n, same 5 ports median %.3f s\n' "$n"
printf 'reach / nmap: %.2f\n' "$(echo "$r / $n" | bc -l)"
