#!/usr/bin/env bash
# Subnet audit, reach vs nmap: a /24 of live hosts plus two silent ones, ports 1-1024.
#
# Builds two network namespaces joined by a veth pair (addresses from 198.18.0.0/15, no default
# route: no packet can leave them). The server namespace holds all 256 addresses of
# 198.18.1.0/24 on its veth end; a listener on 0.0.0.0 answers on a handful of ports (every
# other port of a live address draws a RST), one port is DROPped on one address, and two
# addresses DROP everything (a host that is down or fully filtered). The client namespace
# routes the /24 through the veth. Then `reach scan 198.18.1.0/24 --ports 1-1024` and
# `nmap -sT -Pn -n -p1-1024 --max-retries 1` (reach's default of one retry) scan the block,
# alternately, RUNS times each. Prints each run, both medians, their ratio, and fails unless
# both tools found the same open, closed and filtered ports on every host on every run.
#
# Needs root, iproute2, iptables, nmap, python3 (listener), GNU time, bc. Usage:
#   cargo build --release && sudo bench/subnet-scan.sh [RUNS]   (default 5)
set -euo pipefail

RUNS=${1:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
REACH=${REACH:-$HERE/../target/release/reach}
OPEN_PORTS=(22 80 443 993)
SUBNET=198.18.1
SILENT=("$SUBNET.77" "$SUBNET.200")
DROPPED_HOST=$SUBNET.10
DROPPED_PORT=443
SERVER_ADDR=198.18.0.1
CLIENT_ADDR=198.18.0.2
ID=$$
SRV=reach-ssrv-$ID
CLI=reach-scli-$ID
WORK=$(mktemp -d)

for tool in ip iptables nmap python3 bc /usr/bin/time "$REACH"; do
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

VS=$(veth_pair "$SRV" "$CLI" "$SERVER_ADDR" "$CLIENT_ADDR")
for n in $(seq 0 255); do echo "addr add $SUBNET.$n/32 dev $VS"; done | ip -n "$SRV" -batch -
ip -n "$CLI" route add "$SUBNET.0/24" via "$SERVER_ADDR"
for host in "${SILENT[@]}"; do
  ip netns exec "$SRV" iptables -A INPUT -d "$host" -j DROP
done
ip netns exec "$SRV" iptables -A INPUT -d "$DROPPED_HOST" -p tcp --dport "$DROPPED_PORT" -j DROP

# Listeners on every address that accept and close, so neither tool fills a backlog.
ip netns exec "$SRV" python3 "$HERE/lib/accept-close.py" 0.0.0.0 "${OPEN_PORTS[@]}" &
LISTENER_PID=$!
for _ in $(seq 100); do
  ip netns exec "$SRV" ss -ltn | grep -q ":${OPEN_PORTS[-1]} " && break
  sleep 0.05
done

now() { date +%s.%N; }

# Each tool's verdict, one line per host: its open ports, its filtered ports (as ranges) and
# how many were closed.
reach_sets() {
  python3 -c '
import json, sys
def ranges(ports):
    out, ports = [], sorted(ports)
    for p in ports:
        if out and out[-1][1] == p - 1: out[-1][1] = p
        else: out.append([p, p])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in out) or "-"
for check in json.load(sys.stdin)["checks"]:
    o = check["observed"]
    host = o["hosts"][0]
    listed = o["ports"]
    opened = [p["port"] for p in listed if p.get("state") == "open"]
    if host["state"] == "no-answer":
        filtered = list(range(1, o["port_counts"]["filtered"] + 1))
    else:
        filtered = [p["port"] for p in listed if p.get("state") == "filtered"]
    print(host["address"], "open", ranges(opened), "filtered", ranges(filtered),
          "closed", o["port_counts"]["closed"])' | sort -V
}
nmap_sets() {
  python3 -c '
import re, sys
def ranges(ports):
    out, ports = [], sorted(ports)
    for p in ports:
        if out and out[-1][1] == p - 1: out[-1][1] = p
        else: out.append([p, p])
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in out) or "-"
for line in sys.stdin:
    host = re.match(r"Host: (\S+) .*Ports: ", line) or re.match(r"Host: (\S+) .*Ignored State", line)
    if not host: continue
    ports = re.findall(r"(\d+)/(open|closed|filtered)/tcp", line)
    listed = {int(p) for p, _ in ports}
    ignored = re.search(r"Ignored State: (\w+) \((\d+)\)", line)
    state = {s: [int(p) for p, t in ports if t == s] for s in ("open", "closed", "filtered")}
    if ignored:
        rest = [p for p in range(1, 1025) if p not in listed]
        assert len(rest) == int(ignored.group(2)), line
        state[ignored.group(1)] += rest
    print(host.group(1), "open", ranges(state["open"]), "filtered", ranges(state["filtered"]),
          "closed", len(state["closed"]))' | sort -V
}

reach_times=()
nmap_times=()
verdicts_match=1
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for run in $(seq "$RUNS"); do
  start=$(now)
  /usr/bin/time -f '%U %S %M' -o "$WORK/reach.cpu" \
    ip netns exec "$CLI" "$REACH" scan "$SUBNET.0/24" --ports 1-1024 --format json >"$WORK/reach.json"
  end=$(now)
  reach_times+=("$(echo "$end - $start" | bc)")
  start=$(now)
  /usr/bin/time -f '%U %S %M' -o "$WORK/nmap.cpu" \
    ip netns exec "$CLI" nmap -sT -Pn -n -p1-1024 --max-retries 1 -oG "$WORK/nmap.txt" "$SUBNET.0/24" >/dev/null
  end=$(now)
  nmap_times+=("$(echo "$end - $start" | bc)")
  reach_sets <"$WORK/reach.json" >"$WORK/reach.sets"
  nmap_sets <"$WORK/nmap.txt" >"$WORK/nmap.sets"
  read -r ru rs rm <"$WORK/reach.cpu"
  read -r nu ns nm <"$WORK/nmap.cpu"
  printf 'run %d: reach %6.3fs (cpu %.2fs, %d KB)  nmap %6.3fs (cpu %.2fs, %d KB)\n' "$run" \
    "${reach_times[-1]}" "$(echo "$ru + $rs" | bc)" "$rm" "${nmap_times[-1]}" "$(echo "$nu + $ns" | bc)" "$nm"
  if [ "$(wc -l <"$WORK/reach.sets")" != 256 ] || ! diff -u "$WORK/nmap.sets" "$WORK/reach.sets" >"$WORK/diff"; then
    verdicts_match=0
    echo "  verdicts differ (nmap vs reach), or not 256 hosts:"; sed 's/^/    /' "$WORK/diff" | head -40
  fi
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
reach_median=$(median "${reach_times[@]}")
nmap_median=$(median "${nmap_times[@]}")
echo
echo "verdicts (last run, identical for both tools: $([ $verdicts_match = 1 ] && echo yes || echo NO)):"
grep -v "open 22,80,443,993 filtered - closed 1020" "$WORK/reach.sets" | sed 's/^/  /'
echo "  ... and $(grep -c "open 22,80,443,993 filtered - closed 1020" "$WORK/reach.sets") hosts with open 22,80,443,993, the rest closed"
grep "no-answer" "$WORK/reach.json" >/dev/null && echo "  reach: $(grep -o '"state": *"no-answer"' "$WORK/reach.json" | wc -l) hosts reported as no answer on any port"
printf 'median over %d runs: reach %.3fs, nmap %.3fs, reach is %.1fx faster\n' "$RUNS" \
  "$reach_median" "$nmap_median" "$(echo "$nmap_median / $reach_median" | bc -l)"
[ $verdicts_match = 1 ]
