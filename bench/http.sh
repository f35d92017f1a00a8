#!/usr/bin/env bash
# 1,000 HTTP checks against a local keep-alive server in one reach run, side by side with curl:
# a shell loop (one curl per check, as cron health checks often are) and one curl fed all 1,000
# URLs (sequential, reusing its connection). Then 1,000 checks over HTTP/2 (TLS, ALPN h2)
# against a loopback nginx, next to `curl --http2 --parallel` on the same URLs. Prints the
# median wall time of each, peak RSS (/usr/bin/time -v) and the ratios. Loopback only.
#
# Usage: bench/http.sh [RUNS]   (default 5)
# Needs: curl (with nghttp2), nginx, openssl, python3, /usr/bin/time (Debian: time).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
checks=1000

cargo build --release --quiet
reach=target/release/reach
work=$(mktemp -d)
server_pid=
nginx_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
    [[ -n $nginx_pid ]] && kill "$nginx_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A small asyncio HTTP/1.1 server with keep-alive: fast enough that the clients are measured.
cat >"$work/server.py" <<'PY'
import asyncio, sys
BODY = b'{"status": "ok"}'
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
coproc SERVER { exec python3 "$work/server.py"; }
server_pid=$SERVER_PID
read -r port <&"${SERVER[0]}"
url="http://127.0.0.1:$port/health"

{
    echo 'profile = "bench"'
    for i in $(seq 1 "$checks"); do
        printf '[[check]]\nid = "c%d"\nkind = "http"\nurl = "%s"\nexpect.status = 200\n' "$i" "$url"
    done
} >"$work/spec.toml"
for i in $(seq 1 "$checks"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done >"$work/curl.cfg"

# Runs "$@" under /usr/bin/time -v; prints "wall_seconds max_rss_kib".
measure() {
    /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || {
        echo "failed: $*" >&2
        cat "$work/time.txt" >&2
        exit 1
    }
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; wall = s }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%.3f %d\n", wall, rss }' "$work/time.txt"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

curl_loop() { for _ in $(seq 1 "$checks"); do curl -s -o /dev/null "$url"; done; }
export -f curl_loop
export checks url

# HTTP/2: nginx on loopback with a certificate from a CA made here, so both clients verify it.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=reach bench CA" \
    -addext basicConstraints=critical,CA:TRUE -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=bench.test" -keyout "$work/leaf.key" -out "$work/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:bench.test,IP:127.0.0.1\n' >"$work/leaf.ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 2 -extfile "$work/leaf.ext" -out "$work/leaf.pem" 2>/dev/null
h2_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
$( [[ $(id -u) == 0 ]] && echo "user root;" )
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$h2_port ssl http2;
        ssl_certificate $work/leaf.pem;
        ssl_certificate_key $work/leaf.key;
        location /health { default_type application/json; return 200 '{"status": "ok"}'; }
    }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
for _ in $(seq 1 50); do
    curl -s -o /dev/null --cacert "$work/ca.pem" "https://127.0.0.1:$h2_port/health" && break
    sleep 0.1
done
h2_url="https://127.0.0.1:$h2_port/health"
{
    echo 'profile = "bench"'
    for i in $(seq 1 "$checks"); do
        printf '[[check]]\nid = "c%d"\nkind = "http"\nurl = "%s"\nexpect.status = 200\nexpect.http_version = "2"\n' "$i" "$h2_url"
    done
} >"$work/h2.toml"
for i in $(seq 1 "$checks"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$h2_url"; done >"$work/curl-h2.cfg"

declare -A wall rss
for tool in reach curl-reuse curl-loop reach-h2 curl-h2; do
    walls=() rsses=()
    for _ in $(seq 1 "$runs"); do
        case $tool in
            reach) result=$(measure "$reach" run "$work/spec.toml" --format json) ;;
            curl-reuse) result=$(measure curl -s --config "$work/curl.cfg") ;;
            curl-loop) result=$(measure bash -c curl_loop) ;;
            reach-h2) result=$(measure "$reach" run "$work/h2.toml" --format json --ca-file "$work/ca.pem") ;;
            curl-h2) result=$(measure curl -s --http2 --parallel --cacert "$work/ca.pem" --config "$work/curl-h2.cfg") ;;
        esac
        walls+=("${result% *}") rsses+=("${result#* }")
    done
    wall[$tool]=$(printf '%s\n' "${walls[@]}" | median)
    rss[$tool]=$(printf '%s\n' "${rsses[@]}" | median)
done

# The figures only count if reach judged every check a pass.
passed=$("$reach" run "$work/spec.toml" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["pass"])')
[[ $passed == "$checks" ]] || { echo "reach passed $passed of $checks checks" >&2; exit 1; }
passed=$("$reach" run "$work/h2.toml" --format json --ca-file "$work/ca.pem" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["pass"])')
[[ $passed == "$checks" ]] || { echo "reach passed $passed of $checks HTTP/2 checks" >&2; exit 1; }

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
echo "$checks HTTP checks against 127.0.0.1:$port, median of $runs runs ($(nproc) cores)"
printf '%-34s %10s %14s\n' tool "wall (s)" "peak RSS (MiB)"
printf '%-34s %10s %14s\n' "reach run (1,000 checks)" "${wall[reach]}" "$(mib "${rss[reach]}")"
printf '%-34s %10s %14s\n' "curl, 1,000 URLs, one process" "${wall[curl-reuse]}" "$(mib "${rss[curl-reuse]}")"
printf '%-34s %10s %14s\n' "curl in a shell loop" "${wall[curl-loop]}" "$(mib "${rss[curl-loop]}")"
echo "ratio (curl one process / reach): $(ratio "${wall[curl-reuse]}" "${wall[reach]}")x;" \
    "(curl loop / reach): $(ratio "${wall[curl-loop]}" "${wall[reach]}")x"
echo
echo "$checks HTTP/2 checks (TLS, ALPN h2) against nginx on 127.0.0.1:$h2_port, median of $runs runs"
printf '%-34s %10s %14s\n' tool "wall (s)" "peak RSS (MiB)"
printf '%-34s %10s %14s\n' "reach run (1,000 checks, h2)" "${wall[reach-h2]}" "$(mib "${rss[reach-h2]}")"
printf '%-34s %10s %14s\n' "curl --http2 --parallel" "${wall[curl-h2]}" "$(mib "${rss[curl-h2]}")"
echo "ratio (curl --http2 --parallel / reach): $(ratio "${wall[curl-h2]}" "${wall[reach-h2]}")x"
