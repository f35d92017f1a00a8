#!/usr/bin/env bash
# Validates everything in deploy/ (and docs/metrics.md against it). Exits 1 if anything fails.
#
# Needs: promtool (Debian: prometheus), systemd-analyze (systemd), python3 with PyYAML, yamllint
# and kubernetes-validate (PyPI; it ships the Kubernetes schemas, so nothing is downloaded).
#   apt-get install -y prometheus python3-yaml && pip install yamllint kubernetes-validate
# Optional: a reach binary (REACH_BIN, or target/release|debug/reach) to validate the check file
# of the Kubernetes ConfigMap; without one that step is skipped, and says so.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# step NAME COMMAND...: runs COMMAND, shows its output only when it fails.
step() {
    local name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        echo "ok    $name"
    else
        echo "FAIL  $name"
        sed 's/^/      /' "$tmp/out"
        failed=1
    fi
}

missing=0
for tool in promtool systemd-analyze python3 yamllint kubernetes-validate; do
    if ! command -v "$tool" >/dev/null; then
        echo "FAIL  $tool is not installed (see the top of $0)"
        missing=1
    fi
done
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL  python3 has no PyYAML"; missing=1; }
[ "$missing" = 0 ] || exit 1

cd "$here" || exit 1

# --- Prometheus -------------------------------------------------------------------------------
step "promtool check config prometheus/prometheus.yml" \
    promtool check config prometheus/prometheus.yml
step "promtool check rules prometheus/rules/reach.rules.yml" \
    promtool check rules prometheus/rules/reach.rules.yml
step "promtool test rules prometheus/rules/reach.rules.test.yml" \
    promtool test rules prometheus/rules/reach.rules.test.yml

# --- Grafana ----------------------------------------------------------------------------------
step "grafana/reach-dashboard.json is JSON" python3 -m json.tool grafana/reach-dashboard.json
step "dashboard structure and variables" python3 check.py dashboard "$tmp/dashboard.rules.yml"
# promtool parses every query of the dashboard, written as recording rules.
step "dashboard queries parse (promtool)" promtool check rules "$tmp/dashboard.rules.yml"

# --- Metric names and docs --------------------------------------------------------------------
step "every reach_* family used is in docs/metrics.md" python3 check.py names
docs_example() {
    python3 check.py docs-example "$tmp/example.prom" && promtool check metrics <"$tmp/example.prom"
}
step "docs/metrics.md example passes promtool check metrics" docs_example

# --- YAML and Kubernetes ----------------------------------------------------------------------
step "yamllint" yamllint --strict -c .yamllint .
step "kubernetes-validate --strict (schemas of Kubernetes 1.30)" \
    kubernetes-validate --strict --quiet -k 1.30.0 kubernetes/*.yaml
step "web-config.example.yml keys and hashes" python3 check.py web-config web-config.example.yml

reach_bin=${REACH_BIN:-}
for candidate in "$root/target/release/reach" "$root/target/debug/reach"; do
    [ -z "$reach_bin" ] && [ -x "$candidate" ] && reach_bin=$candidate
done
if [ -n "$reach_bin" ]; then
    configmap_checks() {
        mkdir -p "$tmp/checks" &&
            python3 check.py configmap-checks "$tmp/checks" >/dev/null &&
            "$reach_bin" validate "$tmp"/checks/*.toml
    }
    step "reach validate on the ConfigMap's check files ($reach_bin)" configmap_checks
else
    echo "skip  reach validate on the ConfigMap's check files: no reach binary (build, or set REACH_BIN)"
fi

# --- systemd ----------------------------------------------------------------------------------
# verify needs the executables to exist: check copies that point at a stand-in for reach, with the
# templates instantiated. It reports problems as warnings with exit 0, so any output fails.
systemd_verify() {
    local u="$tmp/units"
    mkdir -p "$u"
    printf '#!/bin/sh\n' >"$u/reach" && chmod +x "$u/reach"
    sed "s#/usr/local/bin/reach#$u/reach#g" systemd/reach-serve.service >"$u/reach-serve.service"
    sed "s#/usr/local/bin/reach#$u/reach#g" systemd/reach-run@.service >"$u/reach-run@flowsync.service"
    cp systemd/reach-run@.timer "$u/reach-run@flowsync.timer"
    local out
    out=$(cd "$u" && systemd-analyze verify --man=no ./reach-serve.service \
        ./reach-run@flowsync.service ./reach-run@flowsync.timer 2>&1) || { echo "$out"; return 1; }
    [ -z "$out" ] || { echo "$out"; return 1; }
}
step "systemd-analyze verify" systemd_verify
# The units are meant to stay confined; 'systemd-analyze security' rates them (0 best, 10 worst).
systemd_exposure() {
    local unit score
    for unit in reach-serve.service reach-run@flowsync.service; do
        score=$(cd "$tmp/units" && systemd-analyze security --offline=true "./$unit" 2>&1 |
            sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
        echo "$unit: exposure $score"
        [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || return 1
    done
}
step "systemd-analyze security: exposure at most 2.0" systemd_exposure
step "reach-run@.service: baseline rotation and textfile (stand-in reach)" \
    python3 check.py run-unit "$tmp/run-unit"

if [ "$failed" = 0 ]; then echo "deploy/: all checks passed"; else echo "deploy/: some checks FAILED"; fi
exit "$failed"
