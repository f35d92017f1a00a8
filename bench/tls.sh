#!/usr/bin/env bash
# Benchmark, two parts, every tool against the same local `openssl s_server` in the same run:
#  1. reach's version and suite enumeration against sslyze and testssl.sh (a server offering
#     TLS 1.0, 1.1 and 1.2 with dozens of suites): median wall times, ratios, and whether the
#     accepted (version, suite) sets agree.
#  2. the deep audit: `reach tls` (versions, suites, groups, DH, every protocol check) against
#     sslyze running the same commands (the cipher commands plus --elliptic_curves
#     --compression --fallback --reneg --heartbleed --openssl_ccs --resum --early_data), on a
#     TLS 1.0-1.3 server with 0-RTT and DHE: median times, ratio, and fact by fact agreement
#     (where they differ, `openssl s_client` is asked who is right).
#
# Needs: openssl, testssl.sh and nginx (Debian packages), python3 (for the venv and the
# comparisons).
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
    # Debian's interpreter first: a pyenv python3 may lack the ssl module pip needs for PyPI.
    if /usr/bin/python3 -c 'import ssl, ensurepip' 2>/dev/null; then venv_python=/usr/bin/python3; else venv_python=python3; fi
    "$venv_python" -m venv "$VENV"
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

# ---- Part 2: the deep audit, against nginx: it runs several workers (both tools open
# connections in parallel, which a single-threaded s_server serialises), and s_server cannot
# combine 0-RTT with answering HTTP, which sslyze's early-data probe sends.
kill "$SERVER_PID" 2>"$WORK/kill.err" || true
wait "$SERVER_PID" 2>"$WORK/wait.err" || true
SERVER_PID=
command -v nginx >"$WORK/which.out" || { echo "needs nginx (apt-get install nginx)" >&2; exit 2; }
DH="$WORK/dh2048.pem"
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$DH" 2>"$WORK/genpkey.err"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<NGINX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$PORT ssl;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
        ssl_ciphers '$CIPHERS';
        ssl_dhparam $DH;
        ssl_early_data on;
        ssl_session_cache shared:SSL:1m;
        location / { return 200 "ok\n"; }
    }
}
NGINX
nginx -p "$WORK/nginx" -c "$WORK/nginx.conf" -g 'daemon off;' 2>"$WORK/nginx/stderr" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>"$WORK/probe.err" && break
    sleep 0.05
done
TARGET=127.0.0.1:$PORT
echo
echo "deep audit: nginx on $TARGET, TLS 1.0-1.3, cipher string $CIPHERS, ffdhe2048 for DHE,"
echo "            0-RTT on, a shared session cache, OpenSSL's default groups"

unset 'TIMES[reach]' 'TIMES[sslyze]'
for i in $(seq 1 "$RUNS"); do
    run reach "$REACH" tls "$TARGET" --format json -o "$WORK/reach-deep.json"
    run sslyze "$VENV/bin/sslyze" --sslv2 --sslv3 --tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 \
        --elliptic_curves --compression --fallback --reneg --heartbleed --openssl_ccs --resum --early_data \
        --json_out "$WORK/sslyze-deep.json" "$TARGET"
done

# s_client's word on session-ID resumption (the one fact the two tools are known to differ on).
echo | timeout 10 openssl s_client -connect "$TARGET" -tls1_2 -no_ticket -sess_out "$WORK/sid.pem" \
    >"$WORK/s_client1.out" 2>&1 || true
S_CLIENT_SID=$( (sleep 0.5; echo) | timeout 10 openssl s_client -connect "$TARGET" -tls1_2 -no_ticket \
    -sess_in "$WORK/sid.pem" 2>"$WORK/s_client2.err" | grep -c '^Reused' || true)

python3 - "$WORK" "${TIMES[reach]}" "${TIMES[sslyze]}" "$S_CLIENT_SID" <<'PY'
import json, statistics, sys
work, reach_t, sslyze_t, s_client_sid = sys.argv[1:5]
med = {"reach": statistics.median(float(x) for x in reach_t.split()),
       "sslyze": statistics.median(float(x) for x in sslyze_t.split())}
tls = json.load(open(f"{work}/reach-deep.json"))["checks"][0]["observed"]["tls"]
s = json.load(open(f"{work}/sslyze-deep.json"))["server_scan_results"][0]["scan_result"]
res = lambda key: (s.get(key) or {}).get("result") or {}

facts = []  # (fact, reach, sslyze)
VERSIONS = (("ssl_3_0_cipher_suites", "SSLv3"), ("tls_1_0_cipher_suites", "TLSv1.0"),
            ("tls_1_1_cipher_suites", "TLSv1.1"), ("tls_1_2_cipher_suites", "TLSv1.2"),
            ("tls_1_3_cipher_suites", "TLSv1.3"))
reach_pairs = {(v, x["iana"]) for v, suites in tls["protocols"].items() for x in suites}
sslyze_pairs, sslyze_tested, dh_sizes = set(), set(), []
for key, version in VERSIONS:
    for entry in res(key).get("accepted_cipher_suites", []):
        sslyze_pairs.add((version, entry["cipher_suite"]["name"]))
        key_info = entry.get("ephemeral_key") or {}
        if key_info.get("type_name") == "DH":
            dh_sizes.append(key_info["size"])
    for entry in res(key).get("rejected_cipher_suites", []):
        sslyze_tested.add((version, entry["cipher_suite"]["name"]))
sslyze_tested |= sslyze_pairs
untested = reach_pairs - sslyze_tested
facts.append(("accepted (version, suite) pairs", len(reach_pairs), len(sslyze_pairs),
              sslyze_pairs == reach_pairs - untested))
newest = max(tls["protocols"], key=lambda v: ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3").index(v))
reach_curves = sorted(g["name"].lower() for g in tls["groups"] if g["family"] == "ec" and newest in g["versions"])
sslyze_curves = sorted(c["name"].lower() for c in res("elliptic_curves").get("supported_curves", []))
facts.append((f"curves ({newest})", ",".join(reach_curves), ",".join(sslyze_curves), reach_curves == sslyze_curves))
facts.append(("smallest DH prime", tls.get("dh_bits"), min(dh_sizes) if dh_sizes else None,
              tls.get("dh_bits") == (min(dh_sizes) if dh_sizes else None)))
feature = lambda name: tls["features"][name]["value"]
resum = res("session_resumption")
full = lambda r: {"FULLY_SUPPORTED": True, "NOT_SUPPORTED": False}.get(r, r)
reneg = res("session_renegotiation")
for name, theirs in (
        ("compression", res("tls_compression").get("supports_compression")),
        ("fallback_scsv", res("tls_fallback_scsv").get("supports_fallback_scsv")),
        ("secure_renegotiation", reneg.get("supports_secure_renegotiation")),
        ("client_renegotiation", reneg.get("is_vulnerable_to_client_renegotiation_dos")),
        ("heartbleed", res("heartbleed").get("is_vulnerable_to_heartbleed")),
        ("ccs_injection", res("openssl_ccs_injection").get("is_vulnerable_to_ccs_injection")),
        ("session_id_resumption", full(resum.get("session_id_resumption_result"))),
        ("ticket_resumption", full(resum.get("tls_ticket_resumption_result"))),
        ("early_data", res("tls_1_3_early_data").get("supports_early_data"))):
    facts.append((name, feature(name), theirs, feature(name) == theirs))

print(f"\n{'tool':<8} {'median':>9}")
print(f"{'reach':<8} {med['reach']:>8.2f}s")
print(f"{'sslyze':<8} {med['sslyze']:>8.2f}s   sslyze / reach = {med['sslyze'] / med['reach']:.1f}x")
print(f"\n{'fact':<34} {'reach':<28} {'sslyze':<28} agree")
for fact, ours, theirs, same in facts:
    print(f"{fact:<34} {str(ours):<28} {str(theirs):<28} {'yes' if same else 'NO'}")
if untested:
    print(f"(sslyze never offers {', '.join(f'{v} {n}' for v, n in sorted(untested))}, which reach "
          f"finds accepted; the pairs agree on every suite sslyze tests)")
for fact, ours, theirs, same in facts:
    if fact == "session_id_resumption" and not same:
        verdict = "resumed" if s_client_sid.strip() != "0" else "not resumed"
        print(f"session_id_resumption: openssl s_client -sess_in says {verdict}, as "
              f"{'reach' if (verdict == 'resumed') == (ours is True) else 'sslyze'} does")
PY
