#!/usr/bin/env bash
# Full-range TCP connect scan, reach vs nmap, through a real firewall.
#
# Builds two network namespaces joined by a veth pair (addresses from 198.18.0.0/15, no default
# route: no packet can leave them), starts a handful of listeners in the server namespace, DROPs
# one port and REJECTs another with tcp-reset, then scans all 65,535 ports from the client
# namespace with `reach scan` and `nmap -sT -Pn -n -p-`, alternately, RUNS times each. Prints each
# run, both medians, their ratio, and fails unless both tools found the same open, closed and
# filtered sets on every run.
#
# Needs root, iproute2, iptables, nmap, python3 (listeners). Usage:
#   cargo build --release && sudo bench/scan-vs-nmap.sh [RUNS]   (default 5)
set -euo pipefail

RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
REACH=${REACH:-$HERE/../target/release/reach}
OPEN_PORTS=(22 80 443 3000 8000 8080)
DROPPED=5432
REJECTED=6379
SERVER_ADDR=198.18.0.1
CLIENT_ADDR=198.18.0.2
ID=$$
SRV=reach-bsrv-$ID
CLI=reach-bcli-$ID
WORK=$(mktemp -d)

for tool in ip iptables nmap python3 "$REACH"; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, iptables)" >&2; exit 2; }

cleanup() {
  [ -n "${LISTENER_PID:-}" ] && kill "$LISTENER_PID" 2>/dev/null || true
  ip netns del "$SRV" 2>/dev/null || true
  ip netns del "$CLI" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$HERE/lib/netns.sh"

veth_pair "$SRV" "$CLI" "$SERVER_ADDR" "$CLIENT_ADDR" >/dev/null
ip netns exec "$SRV" iptables -A INPUT -p tcp --dport "$DROPPED" -j DROP
ip netns exec "$SRV" iptables -A INPUT -p tcp --dport "$REJECTED" -j REJECT --reject-with tcp-reset

# Listeners that accept and close, so neither tool fills a backlog.
ip netns exec "$SRV" python3 "$HERE/lib/accept-close.py" "$SERVER_ADDR" "${OPEN_PORTS[@]}" &
LISTENER_PID=$!
for _ in $(seq 100); do
  ip netns exec "$SRV" ss -ltn | grep -q ":${OPEN_PORTS[-1]} " && break
  sleep 0.05
done

now() { date +%s.%N; }

# Each tool's verdict as three lines: open ports, filtered ports, closed count.
reach_sets() {
  python3 -c '
import json, sys
r = json.load(sys.stdin)["checks"][0]["observed"]
ports = r["ports"]
print("open", " ".join(str(p["port"]) for p in ports if p["state"] == "open"))
print("filtered", " ".join(str(p["port"]) for p in ports if p["state"] == "filtered"))
print("closed", r["port_counts"]["closed"])'
}
nmap_sets() {
  python3 -c '
import re, sys
text = sys.stdin.read()
ports = re.findall(r"(\d+)/(open|closed|filtered)/tcp", text)
closed = re.search(r"Ignored State: closed \((\d+)\)", text)
explicit_closed = sum(1 for _, s in ports if s == "closed")
print("open", " ".join(p for p, s in ports if s == "open"))
print("filtered", " ".join(p for p, s in ports if s == "filtered"))
print("closed", (int(closed.group(1)) if closed else 0) + explicit_closed)'
}

reach_times=()
nmap_times=()
verdicts_match=1
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for run in $(seq "$RUNS"); do
  start=$(now)
  /usr/bin/time -f '%U %S %M' -o "$WORK/reach.cpu" \
    ip netns exec "$CLI" "$REACH" scan "$SERVER_ADDR" --format json >"$WORK/reach.json" || [ $? = 1 ]
  end=$(now)
  reach_times+=("$(echo "$end - $start" | bc)")
  start=$(now)
  /usr/bin/time -f '%U %S %M' -o "$WORK/nmap.cpu" \
    ip netns exec "$CLI" nmap -sT -Pn -n -p- -oG "$WORK/nmap.txt" "$SERVER_ADDR" >/dev/null
  end=$(now)
  nmap_times+=("$(echo "$end - $start" | bc)")
  reach_sets <"$WORK/reach.json" >"$WORK/reach.sets"
  nmap_sets <"$WORK/nmap.txt" >"$WORK/nmap.sets"
  read -r ru rs rm <"$WORK/reach.cpu"
  read -r nu ns nm <"$WORK/nmap.cpu"
  printf 'run %d: reach %6.3fs (cpu %.2fs, %d KB)  nmap %6.3fs (cpu %.2fs, %d KB)\n' "$run" \
    "${reach_times[-1]}" "$(echo "$ru + $rs" | bc)" "$rm" "${nmap_times[-1]}" "$(echo "$nu + $ns" | bc)" "$nm"
  if ! diff -u "$WORK/nmap.sets" "$WORK/reach.sets" >"$WORK/diff"; then
    verdicts_match=0
    echo "  verdicts differ (nmap vs reach):"; sed 's/^/    /' "$WORK/diff"
  fi
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
reach_median=$(median "${reach_times[@]}")
nmap_median=$(median "${nmap_times[@]}")
echo
echo "verdicts (last run, identical for both tools: $([ $verdicts_match = 1 ] && echo yes || echo NO)):"
sed 's/^/  /' "$WORK/reach.sets"
printf 'median over %d runs: reach %.3fs, nmap %.3fs, reach is %.1fx faster\n' "$RUNS" \
  "$reach_median" "$nmap_median" "$(echo "$nmap_median / $reach_median" | bc -l)"
[ $verdicts_match = 1 ]
