#!/usr/bin/env bash
# bench/dns.sh — N distinct names (10,000 by default), each a `dns` check that verifies its A
# record, in ONE reach run against dnsmasq, side by side with `dig -f` on the same names in the
# same run (dig asks one name at a time and verifies nothing; its answers are counted here).
# Then the same reach run at --concurrency 1024, which must end with zero errors.
#
# Traffic: only inside two network namespaces this script creates (a veth pair, 198.18.0.0/30,
# no default route): dnsmasq (Debian's dnsmasq-base) answers from a hosts file in the server
# namespace with --no-resolv --no-hosts, so it asks nothing upstream; reach and dig run in the
# client namespace, whose resolv.conf names only that dnsmasq. Everything is removed on exit.
#
# Needs: root, iproute2, dnsmasq (dnsmasq-base), dig (bind9-dnsutils), /usr/bin/time (time).
# Usage: sudo bench/dns.sh [NAMES]      e.g. sudo bench/dns.sh 10000        (RUNS=5 by default)
#        SERVER=responder bench/dns.sh  the old loopback variant: the test responder of
#                                       examples/dns_responder.rs on 127.0.0.1, no root needed
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-10000}
RUNS=${RUNS:-5}
SERVER=${SERVER:-dnsmasq}

for tool in /usr/bin/time dig; do
    command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install time bind9-dnsutils)" >&2; exit 2; }
done
if [ "$SERVER" = dnsmasq ]; then
    [ "$(id -u)" -eq 0 ] || { echo "needs root for the network namespaces (or SERVER=responder)" >&2; exit 2; }
    command -v dnsmasq >/dev/null || { echo "needs dnsmasq (apt-get install dnsmasq-base)" >&2; exit 2; }
fi

cargo build --release --quiet --bin reach --example dns_responder
REACH=$PWD/target/release/reach
RESPONDER=$PWD/target/release/examples/dns_responder

WORK=$(mktemp -d)
ID=$$
SRV_NS=reach-bdns-s$ID
CLI_NS=reach-bdns-c$ID
SERVER_PID=""
cleanup() {
    exec 9>&- 2>/dev/null || true
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    if [ "$SERVER" = dnsmasq ]; then
        ip netns del "$SRV_NS" 2>/dev/null || true
        ip netns del "$CLI_NS" 2>/dev/null || true
        rm -rf "/etc/netns/$CLI_NS"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# n1.bench.test .. nN.bench.test -> 10.B.C.D from the number, so every answer can be verified.
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "n%d.bench.test\n", i }' >"$WORK/names"
awk -v n="$N" 'BEGIN {
    print "profile = \"bench\""
    for (i = 1; i <= n; i++)
        printf "[[check]]\nid = \"n%d\"\nkind = \"dns\"\nhost = \"n%d.bench.test\"\nequals = [\"10.%d.%d.%d\"]\n",
            i, i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
}' >"$WORK/bench.toml"

case $SERVER in
    dnsmasq)
        awk -v n="$N" 'BEGIN {
            for (i = 1; i <= n; i++)
                printf "10.%d.%d.%d n%d.bench.test\n", int(i / 65536) % 256, int(i / 256) % 256, i % 256, i
        }' >"$WORK/hosts"
        : >"$WORK/dnsmasq.conf"
        ip netns add "$SRV_NS"
        ip netns add "$CLI_NS"
        ip link add "bds$ID" type veth peer name "bdc$ID"
        ip link set "bds$ID" netns "$SRV_NS"
        ip link set "bdc$ID" netns "$CLI_NS"
        ip -n "$SRV_NS" link set lo up
        ip -n "$CLI_NS" link set lo up
        ip -n "$SRV_NS" addr add 198.18.0.1/30 dev "bds$ID"
        ip -n "$CLI_NS" addr add 198.18.0.2/30 dev "bdc$ID"
        ip -n "$SRV_NS" link set "bds$ID" up
        ip -n "$CLI_NS" link set "bdc$ID" up
        # `ip netns exec` mounts this over /etc/resolv.conf: the client knows only dnsmasq.
        mkdir -p "/etc/netns/$CLI_NS"
        echo "nameserver 198.18.0.1" >"/etc/netns/$CLI_NS/resolv.conf"
        ip netns exec "$SRV_NS" dnsmasq --keep-in-foreground --conf-file="$WORK/dnsmasq.conf" \
            --no-resolv --no-hosts --addn-hosts="$WORK/hosts" --listen-address=198.18.0.1 \
            --bind-interfaces --port=53 --user=root --group=root --pid-file="$WORK/dnsmasq.pid" \
            --log-facility="$WORK/dnsmasq.log" &
        SERVER_PID=$!
        ADDR=198.18.0.1:53
        IN_CLIENT=(ip netns exec "$CLI_NS")
        ;;
    responder)
        # The responder runs until its stdin closes: keep a fifo open on fd 9 for the benchmark.
        mkfifo "$WORK/stdin"
        "$RESPONDER" <"$WORK/stdin" >"$WORK/addr" 2>"$WORK/responder.log" &
        SERVER_PID=$!
        exec 9>"$WORK/stdin"
        for _ in $(seq 100); do [ -s "$WORK/addr" ] && break; sleep 0.05; done
        ADDR=$(head -n1 "$WORK/addr")
        IN_CLIENT=()
        ;;
    *) echo "SERVER is dnsmasq or responder, not $SERVER" >&2; exit 2 ;;
esac
HOST=${ADDR%:*}
PORT=${ADDR##*:}
# Ready when it answers the last name.
for _ in $(seq 100); do
    "${IN_CLIENT[@]}" dig "@$HOST" -p "$PORT" "n$N.bench.test" +short +tries=1 +time=1 2>/dev/null | grep -q . && break
    sleep 0.1
done

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# Runs a command under /usr/bin/time -v; prints "WALL_SECONDS CPU_SECONDS RSS_KB".
measure() {
    "${IN_CLIENT[@]}" /usr/bin/time -v "$@" >"$WORK/out" 2>"$WORK/time" || true
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; wall = s }
        /User time|System time/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%.3f %.3f %d\n", wall, cpu, rss }' "$WORK/time"
}

# Checks a reach JSON report: every one of the N checks passed (each verified its address).
verified() {
    local pass error retried
    pass=$(grep -m1 -o '"pass": [0-9]*' "$WORK/report.json" | grep -o '[0-9]*$' || true)
    error=$(grep -m1 -o '"error": [0-9]*' "$WORK/report.json" | grep -o '[0-9]*$' || true)
    retried=$(grep -c '"attempts": [2-9]' "$WORK/report.json" || true)
    echo "${pass:-0} ${error:-?} ${retried:-0}"
}

declare -A WALL=() CPU=() RSS=() NOTE=() WALLS=()
for tool in reach dig reach-c1024; do
    : >"$WORK/walls"; : >"$WORK/cpus"; : >"$WORK/rsss"
    NOTE[$tool]=""
    for _ in $(seq "$RUNS"); do
        case $tool in
            reach|reach-c1024)
                extra=()
                [ "$tool" = reach-c1024 ] && extra=(--concurrency 1024)
                result=$(measure "$REACH" run "$WORK/bench.toml" --dns-server "$ADDR" "${extra[@]}" \
                    --format json -o "$WORK/report.json")
                read -r pass error retried < <(verified)
                [ "$pass" -eq "$N" ] || NOTE[$tool]+=" run with $pass/$N verified, $error errors;"
                # A check that needed a second attempt lost a whole timeout to one lost datagram.
                [ "$retried" -eq 0 ] || NOTE[$tool]+=" run with $retried checks retried;"
                ;;
            dig)
                result=$(measure dig "@$HOST" -p "$PORT" -f "$WORK/names" +noall +answer +tries=1 +time=2)
                answered=$(awk '$3 == "IN" && $4 == "A"' "$WORK/out" | wc -l)
                [ "$answered" -eq "$N" ] || NOTE[$tool]+=" run with $answered/$N answers;"
                ;;
        esac
        read -r wall cpu rss <<<"$result"
        echo "$wall" >>"$WORK/walls"; echo "$cpu" >>"$WORK/cpus"; echo "$rss" >>"$WORK/rsss"
    done
    WALL[$tool]=$(median <"$WORK/walls")
    CPU[$tool]=$(median <"$WORK/cpus")
    RSS[$tool]=$(median <"$WORK/rsss")
    WALLS[$tool]=$(sort -n "$WORK/walls" | tr '\n' ' ')
done

printf '%-12s %7s %10s %9s %9s %10s  %s\n' tool names "wall (s)" "CPU (s)" "RSS (MB)" "dig/tool" "every run (s)"
for tool in reach dig reach-c1024; do
    ratio=$(awk -v a="${WALL[dig]}" -v b="${WALL[$tool]}" 'BEGIN { printf (b > 0 ? "%.2fx" : "-"), a / b }')
    printf '%-12s %7d %10.3f %9.3f %9.1f %10s  %s%s\n' "$tool" "$N" "${WALL[$tool]}" "${CPU[$tool]}" \
        "$(awk -v k="${RSS[$tool]}" 'BEGIN { print k / 1024 }')" "$ratio" "${WALLS[$tool]}" "${NOTE[$tool]}"
done
echo "(median of $RUNS runs; $(nproc) cores; $SERVER at $ADDR; reach verifies every address, dig verifies nothing;"
echo " reach-c1024 is reach with --concurrency 1024; a note after a row means a run was not fully verified)"
