#!/usr/bin/env bash
# Benchmark: reach's full TLS enumeration against sslyze and testssl.sh, side by side, on one
# local `openssl s_server` offering TLS 1.0, 1.1 and 1.2 with dozens of suites. Prints each
# tool's median wall time, the ratios, and whether the accepted (version, suite) sets agree.
#
# Needs: openssl and testssl.sh (Debian packages), python3 (for the venv and set comparison).
# sslyze is installed from PyPI into a venv ($SSLYZE_VENV, default /tmp/reach-bench-sslyze).
# Every tool is pointed at 127.0.0.1 only.
#
# Usage: bench/tls.sh [RUNS]   (default 5)
set -euo pipefail

RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${SSLYZE_VENV:-/tmp/reach-bench-sslyze}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v openssl >/dev/null || { echo "needs openssl (apt-get install openssl)" >&2; exit 2; }
TESTSSL=$(command -v testssl || command -v testssl.sh || true)
[ -n "$TESTSSL" ] || { echo "needs testssl.sh (apt-get install testssl.sh)" >&2; exit 2; }
if [ ! -x "$VENV/bin/sslyze" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q sslyze
fi

(cd "$ROOT" && cargo build --release -q)
REACH="$ROOT/target/release/reach"

# The server: RSA certificate, TLS 1.0-1.2, every suite OpenSSL 3 still has at security level 0.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 30 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
CIPHERS='ALL:COMPLEMENTOFDEFAULT:!PSK:!SRP:@SECLEVEL=0'
# s_server stops when its stdin ends: feed it a FIFO held open by this shell.
mkfifo "$WORK/stdin"
exec 3<>"$WORK/stdin"
openssl s_server -accept 127.0.0.1:0 -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
    -cipher "$CIPHERS" -no_tls1_3 <"$WORK/stdin" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$WORK/server.log")
    [ -n "$PORT" ] && break
    sleep 0.05
done
[ -n "$PORT" ] || { echo "openssl s_server did not start" >&2; exit 1; }
TARGET=127.0.0.1:$PORT
SUITES=$(openssl ciphers "$CIPHERS" | tr ':' '\n' | grep -vc '^TLS_' || true)
echo "server: openssl s_server on $TARGET, TLS 1.0/1.1/1.2, RSA certificate, cipher string $CIPHERS"
echo "        ($SUITES TLS 1.2-and-below suites in the string; those an RSA certificate can serve are accepted)"

now() { date +%s.%N; }
declare -A TIMES
run() { # name, command...
    local name=$1; shift
    local start end
    start=$(now)
    "$@" >/dev/null 2>&1 || true
    end=$(now)
    TIMES[$name]="${TIMES[$name]:-} $(echo "$end - $start" | bc -l)"
}

for i in $(seq 1 "$RUNS"); do
    run reach "$REACH" tls "$TARGET" --format json -o "$WORK/reach.json"
    run sslyze "$VENV/bin/sslyze" --sslv2 --sslv3 --tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 \
        --json_out "$WORK/sslyze.json" "$TARGET"
    rm -f "$WORK/testssl.json"
    # --nodns none: by default testssl.sh asks the system resolver for the target's PTR (and
    # more), a query that would leave the machine; the benchmark talks to loopback only.
    run testssl "$TESTSSL" --quiet --color 0 --warnings off --nodns none -E --jsonfile "$WORK/testssl.json" "$TARGET"
done

python3 - "$WORK" "${TIMES[reach]}" "${TIMES[sslyze]}" "${TIMES[testssl]}" <<'PY'
import json, re, statistics, sys
work, reach_t, sslyze_t, testssl_t = sys.argv[1:5]
med = {name: statistics.median(float(x) for x in times.split())
       for name, times in (("reach", reach_t), ("sslyze", sslyze_t), ("testssl.sh", testssl_t))}

codes = {}
for line in open("/etc/testssl/cipher-mapping.txt"):
    parts = line.split()
    if len(parts[0].split(",")) == 2:
        code = "0x" + parts[0].replace("0x", "").replace(",", "").upper()
        for name in (parts[2], parts[3]):
            codes.setdefault(name, code)

VERSIONS = {"ssl3": "SSLv3", "tls1": "TLSv1.0", "tls1_1": "TLSv1.1", "tls1_2": "TLSv1.2", "tls1_3": "TLSv1.3"}

reach = set()
for version, suites in json.load(open(f"{work}/reach.json"))["checks"][0]["observed"]["tls"]["protocols"].items():
    reach |= {(version, s["code"]) for s in suites}

sslyze, sslyze_tested = set(), set()
result = json.load(open(f"{work}/sslyze.json"))["server_scan_results"][0]["scan_result"]
for key, version in (("ssl_3_0_cipher_suites", "SSLv3"), ("tls_1_0_cipher_suites", "TLSv1.0"),
                     ("tls_1_1_cipher_suites", "TLSv1.1"), ("tls_1_2_cipher_suites", "TLSv1.2"),
                     ("tls_1_3_cipher_suites", "TLSv1.3")):
    scan = (result.get(key) or {}).get("result") or {}
    for kind in ("accepted_cipher_suites", "rejected_cipher_suites"):
        for entry in scan.get(kind, []):
            pair = (version, codes.get(entry["cipher_suite"]["name"], entry["cipher_suite"]["name"]))
            sslyze_tested.add(pair)
            if kind == "accepted_cipher_suites":
                sslyze.add(pair)

testssl = set()
for entry in json.load(open(f"{work}/testssl.json")):
    m = re.fullmatch(r"cipher-(ssl3|tls1|tls1_1|tls1_2|tls1_3)_x([0-9a-f]+)", entry.get("id", ""))
    if m:
        testssl.add((VERSIONS[m.group(1)], "0x" + m.group(2).upper().rjust(4, "0")))

print(f"\n{'tool':<12} {'median':>9}  {'vs reach':>8}  accepted (version, suite) pairs")
for name, found in (("reach", reach), ("sslyze", sslyze), ("testssl.sh", testssl)):
    ratio = med[name] / med["reach"]
    print(f"{name:<12} {med[name]:>8.2f}s  {ratio:>7.1f}x  {len(found)}")
for name, found in (("sslyze", sslyze), ("testssl.sh", testssl)):
    if found == reach:
        print(f"reach and {name} agree on all {len(reach)} pairs")
        continue
    untested = {p for p in reach - found if name == "sslyze" and p not in sslyze_tested}
    if found == reach - untested:
        print(f"reach and {name} agree on all {len(found)} pairs {name} tests; {name} never offers "
              f"{', '.join(f'{v} {c}' for v, c in sorted(untested))}, which reach finds accepted")
    else:
        print(f"reach and {name} DISAGREE: only reach {sorted(reach - found)}; only {name} {sorted(found - reach)}")
PY
