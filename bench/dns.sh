#!/usr/bin/env bash
# bench/dns.sh — resolve N distinct names (1,000 and 10,000 by default) against a local DNS
# responder in ONE reach run, each name a `dns` check that verifies its A record; report the
# median wall time and peak RSS over RUNS runs, side by side with dig (batch mode, the tool an
# SRE would reach for: one query at a time, nothing verified).
#
# Traffic: 127.0.0.1 only. The responder is examples/dns_responder.rs (the test server).
# Needs: /usr/bin/time (Debian `time`), dig (Debian `bind9-dnsutils`).
# Usage: bench/dns.sh [SIZES...]      e.g. bench/dns.sh 1000 10000     (RUNS=5 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1000 10000)
RUNS=${RUNS:-5}

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

cargo build --release --quiet --bin reach --example dns_responder
REACH=target/release/reach
RESPONDER=target/release/examples/dns_responder

WORK=$(mktemp -d)
RESPONDER_PID=""
cleanup() {
    exec 9>&- 2>/dev/null || true
    [ -n "$RESPONDER_PID" ] && kill "$RESPONDER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The responder runs until its stdin closes: keep a fifo open on fd 9 for the whole benchmark.
mkfifo "$WORK/stdin"
"$RESPONDER" <"$WORK/stdin" >"$WORK/addr" 2>"$WORK/responder.log" &
RESPONDER_PID=$!
exec 9>"$WORK/stdin"
for _ in $(seq 100); do [ -s "$WORK/addr" ] && break; sleep 0.05; done
ADDR=$(head -n1 "$WORK/addr")
[ -n "$ADDR" ] || { echo "the responder did not start" >&2; exit 1; }
HOST=${ADDR%:*}
PORT=${ADDR##*:}

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# Runs a command under /usr/bin/time -v; prints "WALL_SECONDS RSS_KB".
measure() {
    /usr/bin/time -v "$@" >"$WORK/out" 2>"$WORK/time" || { cat "$WORK/time" >&2; return 1; }
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; wall = s }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%.3f %d\n", wall, rss }' "$WORK/time"
}

printf '%-8s %7s %12s %14s %10s\n' tool names "wall (s)" "peak RSS (MB)" "vs reach"
for N in "${SIZES[@]}"; do
    # One check per name, with the address the synthetic zone must give it.
    awk -v n="$N" 'BEGIN {
        print "profile = \"bench\""
        for (i = 1; i <= n; i++)
            printf "[[check]]\nid = \"n%d\"\nkind = \"dns\"\nhost = \"n%d.bench.test\"\nequals = [\"10.%d.%d.%d\"]\n",
                i, i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
    }' >"$WORK/bench.toml"
    awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "n%d.bench.test\n", i }' >"$WORK/names"

    declare -A WALL=() RSS=()
    tools=(reach dig)
    for tool in "${tools[@]}"; do
        : >"$WORK/walls"; : >"$WORK/rsss"
        for _ in $(seq "$RUNS"); do
            case $tool in
                reach)
                    result=$(measure "$REACH" run "$WORK/bench.toml" --dns-server "$ADDR" --format json -o "$WORK/report.json")
                    grep -q "\"pass\": $N," "$WORK/report.json" || { echo "reach: not every check passed" >&2; exit 1; }
                    ;;
                dig)
                    result=$(measure dig "@$HOST" -p "$PORT" -f "$WORK/names" +noall +answer +tries=1 +time=2)
                    [ "$(awk '$3 == "IN" && $4 == "A"' "$WORK/out" | wc -l)" -eq "$N" ] || { echo "dig: missing answers" >&2; exit 1; }
                    ;;
            esac
            echo "${result% *}" >>"$WORK/walls"
            echo "${result#* }" >>"$WORK/rsss"
        done
        WALL[$tool]=$(median <"$WORK/walls")
        RSS[$tool]=$(median <"$WORK/rsss")
    done
    for tool in "${tools[@]}"; do
        ratio=$(awk -v a="${WALL[$tool]}" -v b="${WALL[reach]}" 'BEGIN { printf (b > 0 ? "%.2fx" : "-"), a / b }')
        printf '%-8s %7d %12.3f %14.1f %10s\n' "$tool" "$N" "${WALL[$tool]}" "$(awk -v k="${RSS[$tool]}" 'BEGIN { print k / 1024 }')" "$ratio"
    done
    unset WALL RSS
done
echo "(median of $RUNS runs; $(nproc) cores; responder $ADDR; dig asks one name at a time and verifies nothing)"
