#!/usr/bin/env bash
# `reach serve` under 100 concurrent Prometheus scrapers, side by side with blackbox_exporter
# (Debian's prometheus-blackbox-exporter) probing the same loopback deployment, in the same run.
#
# The deployment: 5 TCP listeners and 5 HTTP servers on 127.0.0.1 (examples/scrape_load.rs,
# `targets` mode). The unit of work is one *deployment check*: its 10 checks, all passing.
#   - reach:    one GET /probe?module=bench&target=127.0.0.1 runs a 10-check profile
#               (5 tcp "open" checks, 5 http checks expecting 200).
#   - blackbox: one deployment check is 10 GET /probe requests sent at once, one per check
#               (module tcp_connect for each TCP port, http_2xx for each HTTP URL), each over its
#               own keep-alive connection, as Prometheus scrapes 10 blackbox targets; the unit
#               ends when the last of the 10 answers.
# 100 scrapers each run deployment checks back to back for SECONDS (after 1 s of warm-up), so
# both exporters have 100 deployment checks in flight (blackbox: 1,000 requests). Reported per
# exporter: deployment checks per second (x10 = checks per second), the p50/p99 latency of a
# deployment check, failed rounds (any answer not 200 or not probe_success 1), the exporter's
# CPU seconds, and the load generator's own CPU. Each exporter runs alone (never both at once),
# alternating, RUNS times; medians are printed last.
#
# Usage: bench/serve.sh [RUNS] [SECONDS]    (default 5 runs of 10 s)
# Needs: prometheus-blackbox-exporter (Debian; do not let it start as a service), python3.
# Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
seconds=${2:-10}
concurrency=100

cargo build --release --quiet --bin reach --example scrape_load
reach=$PWD/target/release/reach
load=$PWD/target/release/examples/scrape_load
blackbox=$(command -v prometheus-blackbox-exporter || command -v blackbox_exporter || true)
if [[ -z $blackbox ]]; then
    echo "bench/serve.sh: blackbox_exporter not found (Debian: apt-get install prometheus-blackbox-exporter)" >&2
    exit 1
fi

work=$(mktemp -d)
targets_pid=
exporter_pid=
cleanup() {
    [[ -n $exporter_pid ]] && kill "$exporter_pid" 2>/dev/null || true
    [[ -n $targets_pid ]] && kill "$targets_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

coproc TARGETS { exec "$load" targets 5 5; }
targets_pid=$TARGETS_PID
read -r _ tcp_ports <&"${TARGETS[0]}"
read -r _ http_ports <&"${TARGETS[0]}"

# The reach profile: the same 10 checks, the host given by /probe's target.
mkdir "$work/checks"
{
    printf 'profile = "bench"\n\n[vars]\nhost = { description = "the deployment" }\n\n'
    for port in $tcp_ports; do
        printf '[[check]]\nid = "tcp-%s"\nkind = "tcp"\nhost = "{host}"\nport = %s\nexpect = "open"\n\n' "$port" "$port"
    done
    for port in $http_ports; do
        printf '[[check]]\nid = "http-%s"\nkind = "http"\nurl = "http://{host}:%s/health"\nexpect.status = 200\n\n' "$port" "$port"
    done
} >"$work/checks/bench.toml"

# blackbox_exporter's equivalent modules: a TCP connect, an HTTP GET that must answer 200.
cat >"$work/blackbox.yml" <<'YML'
modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      valid_status_codes: [200]
YML

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_ready() { # URL
    for _ in $(seq 1 100); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "bench/serve.sh: $1 never answered" >&2
    exit 1
}

cpu_of() { # PID -> user+system CPU seconds
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

# measure_and_stop URL...: the load generator against the running exporter ($exporter_pid),
# whose CPU seconds over the run are added to the generator's JSON line; then stops it.
measure_and_stop() {
    local before after
    before=$(cpu_of "$exporter_pid")
    "$load" load "$concurrency" "$seconds" "$@" >"$work/result.json"
    after=$(cpu_of "$exporter_pid")
    kill "$exporter_pid"
    wait "$exporter_pid" 2>/dev/null || true
    exporter_pid=
    python3 - "$work/result.json" "$before" "$after" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["exporter_cpu_s"] = round(float(sys.argv[3]) - float(sys.argv[2]), 2)
print(json.dumps(r))
PY
}

run_reach() {
    local port
    port=$(free_port)
    "$reach" serve --listen "127.0.0.1:$port" --allow-target 127.0.0.1 \
        --max-probes 1000 --max-probes-per-client 1000 "$work/checks" 2>"$work/reach.log" &
    exporter_pid=$!
    local url="http://127.0.0.1:$port/probe?module=bench&target=127.0.0.1"
    wait_ready "$url"
    measure_and_stop "$url"
}

run_blackbox() {
    local port
    port=$(free_port)
    "$blackbox" --config.file="$work/blackbox.yml" --web.listen-address="127.0.0.1:$port" \
        --log.level=warn 2>"$work/blackbox.log" &
    exporter_pid=$!
    local base="http://127.0.0.1:$port/probe"
    local urls=()
    for p in $tcp_ports; do urls+=("$base?module=tcp_connect&target=127.0.0.1:$p"); done
    for p in $http_ports; do urls+=("$base?module=http_2xx&target=http://127.0.0.1:$p/health"); done
    wait_ready "${urls[0]}"
    measure_and_stop "${urls[@]}"
}

echo "reach $("$reach" --version | awk '{print $2}'), $("$blackbox" --version 2>&1 | head -1)"
echo "$concurrency concurrent scrapers, $seconds s per run, $runs runs; one deployment check = 10 checks"
: >"$work/reach.jsonl"
: >"$work/blackbox.jsonl"
for i in $(seq 1 "$runs"); do
    r=$(run_reach)
    echo "run $i reach:    $r"
    echo "$r" >>"$work/reach.jsonl"
    b=$(run_blackbox)
    echo "run $i blackbox: $b"
    echo "$b" >>"$work/blackbox.jsonl"
done

python3 - "$work/reach.jsonl" "$work/blackbox.jsonl" <<'PY'
import json, statistics, sys
def medians(path):
    rows = [json.loads(line) for line in open(path)]
    keys = ["rounds_per_s", "p50_ms", "p99_ms", "failed_rounds", "exporter_cpu_s", "client_cpu_s"]
    return {k: statistics.median(r[k] for r in rows) for k in keys}
reach, blackbox = medians(sys.argv[1]), medians(sys.argv[2])
print()
print(f"{'median of runs':<16}{'deployments/s':>14}{'checks/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}{'server CPU s':>14}{'client CPU s':>14}")
for name, m in (("reach serve", reach), ("blackbox", blackbox)):
    print(f"{name:<16}{m['rounds_per_s']:>14.1f}{m['rounds_per_s'] * 10:>10.0f}{m['p50_ms']:>9.1f}{m['p99_ms']:>9.1f}"
          f"{m['failed_rounds']:>8.0f}{m['exporter_cpu_s']:>14.2f}{m['client_cpu_s']:>14.2f}")
print(f"throughput reach/blackbox: {reach['rounds_per_s'] / blackbox['rounds_per_s']:.2f}x; "
      f"p99 blackbox/reach: {blackbox['p99_ms'] / reach['p99_ms']:.2f}x")
PY
