#!/usr/bin/env python3
"""Helpers of deploy/check.sh: the checks that no ready-made tool does.

Each subcommand prints what is wrong and exits 1, or exits 0 silently (or with the files it
wrote, for the extraction commands). Needs PyYAML.
"""
import json
import os
import re
import shlex
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DASHBOARD = os.path.join(HERE, "grafana", "reach-dashboard.json")
METRICS_DOC = os.path.join(ROOT, "docs", "metrics.md")


def fail(problems):
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


def dashboard_exprs(dash):
    """Every PromQL expression of the dashboard, panel queries and variable queries."""
    for panel in dash["panels"]:
        for t in panel.get("targets", []):
            yield f"panel {panel['id']} ({panel['title']}) {t.get('refId')}", t.get("expr", "")
    for var in dash["templating"]["list"]:
        if var["type"] == "query":
            q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q)
            # label_values(SELECTOR, LABEL) is Grafana's, not PromQL: check the selector.
            yield f"variable {var['name']}", m.group(1) if m else q


def cmd_dashboard(rules_out):
    """Structure of the dashboard; writes its expressions as recording rules for promtool."""
    problems = []
    with open(DASHBOARD) as f:
        dash = json.load(f)
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in dash:
            problems.append(f"dashboard: no {key}")
    names = [v["name"] for v in dash["templating"]["list"]]
    if names[:1] != ["datasource"] or dash["templating"]["list"][0]["type"] != "datasource":
        problems.append("dashboard: the first variable must be the datasource variable")
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        problems.append(f"dashboard: duplicate panel ids in {ids}")
    for p in dash["panels"]:
        if not all(k in p.get("gridPos", {}) for k in "xywh"):
            problems.append(f"panel {p['id']}: incomplete gridPos")
        if p["type"] == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {p['id']} ({p['title']}): datasource is not ${{datasource}}")
        if not p.get("targets"):
            problems.append(f"panel {p['id']} ({p['title']}): no query")
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}" or not t.get("expr"):
                problems.append(f"panel {p['id']} ({p['title']}): query {t.get('refId')} lacks datasource or expr")
    rules = []
    for i, (where, expr) in enumerate(dashboard_exprs(dash)):
        used = set(re.findall(r"\$(\w+)", expr)) - {"__all"}
        unknown = used - set(names)
        if unknown:
            problems.append(f"{where}: unknown variable(s) {sorted(unknown)}")
        # What Grafana sends for "All" (allValue .*), so promtool parses the real shape.
        rules.append({"record": f"dashboard:query_{i}", "expr": re.sub(r"\$\w+", ".*", expr)})
    with open(rules_out, "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
    fail(problems)


def cmd_names():
    """Every reach_* family used by the rules, tests, dashboard or scrape config is documented."""
    with open(METRICS_DOC) as f:
        documented = set(re.findall(r"`(reach_[a-z_]+)`", f.read()))
    problems = []
    for rel in ("prometheus/prometheus.yml", "prometheus/rules/reach.rules.yml",
                "prometheus/rules/reach.rules.test.yml", "grafana/reach-dashboard.json"):
        with open(os.path.join(HERE, rel)) as f:
            # Not YAML anchors (&reach_tls), nor prefixes in prose (reach_exporter_*).
            used = set(re.findall(r"(?<![&*\w])(reach_[a-z_]*[a-z])\b", f.read()))
        for name in sorted(used - documented):
            problems.append(f"{rel}: {name} is not a family of docs/metrics.md")
    fail(problems)


def cmd_docs_example(out):
    """The first exposition block of docs/metrics.md, for promtool check metrics."""
    with open(METRICS_DOC) as f:
        blocks = re.findall(r"```\n(# HELP .*?)```", f.read(), re.S)
    if not blocks:
        fail(["docs/metrics.md: no exposition example"])
    with open(out, "w") as f:
        f.write(blocks[0])


# The exporter-toolkit web config format (exporter-toolkit docs/web-configuration.md).
WEB_KEYS = {
    "tls_server_config": {"cert_file", "key_file", "cert", "key", "client_auth_type", "client_ca_file",
                          "client_ca", "client_allowed_sans", "min_version", "max_version",
                          "cipher_suites", "prefer_server_cipher_suites", "curve_preferences"},
    "http_server_config": {"http2", "headers"},
    "basic_auth_users": None,
}
WEB_HEADERS = {"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
               "X-XSS-Protection", "Strict-Transport-Security"}
BCRYPT = re.compile(r"\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}")


def cmd_web_config(path):
    with open(path) as f:
        cfg = yaml.safe_load(f)
    problems = []
    for section, value in cfg.items():
        if section not in WEB_KEYS:
            problems.append(f"{path}: unknown section {section}")
        elif WEB_KEYS[section] is not None:
            for key in set(value) - WEB_KEYS[section]:
                problems.append(f"{path}: unknown key {section}.{key}")
    for header in set(cfg.get("http_server_config", {}).get("headers", {})) - WEB_HEADERS:
        problems.append(f"{path}: header {header} cannot be set")
    for user, digest in (cfg.get("basic_auth_users") or {}).items():
        if not BCRYPT.fullmatch(str(digest)):
            problems.append(f"{path}: the hash of {user} is not bcrypt")
    tls = cfg.get("tls_server_config", {})
    if tls and not (("cert_file" in tls or "cert" in tls) and ("key_file" in tls or "key" in tls)):
        problems.append(f"{path}: TLS needs a certificate and a key")
    fail(problems)


def cmd_configmap_checks(outdir):
    """Writes the check files held by the ConfigMap(s) of deploy/kubernetes, for reach validate."""
    kdir = os.path.join(HERE, "kubernetes")
    written = []
    for name in sorted(os.listdir(kdir)):
        with open(os.path.join(kdir, name)) as f:
            for doc in yaml.safe_load_all(f):
                if doc and doc.get("kind") == "ConfigMap":
                    for key, text in doc.get("data", {}).items():
                        if key.endswith(".toml"):
                            path = os.path.join(outdir, key)
                            with open(path, "w") as out:
                                out.write(text)
                            written.append(path)
    if not written:
        fail(["deploy/kubernetes: no ConfigMap holds a check file"])
    print("\n".join(written))


def cmd_run_unit(workdir):
    """Runs the Exec lines of reach-run@.service twice, as systemd would, with a stand-in for
    reach, and checks the baseline rotation and the published textfile."""
    state, textdir = os.path.join(workdir, "state"), os.path.join(workdir, "textfile")
    log, counter = os.path.join(workdir, "calls"), os.path.join(workdir, "n")
    fake = os.path.join(workdir, "reach")
    os.makedirs(workdir)
    with open(fake, "w") as f:
        # Records its arguments and writes "run N" to its -o file; exit 1 = a check failed.
        f.write(f"""#!/bin/sh
echo "$*" >> {log}
out=; prev=
for a in "$@"; do [ "$prev" = "-o" ] && out=$a; prev=$a; done
n=$(($(cat {counter} 2>/dev/null || echo 0) + 1)); echo $n > {counter}
echo "run $n" > "$out.tmp" && mv "$out.tmp" "$out"
exit 1
""")
    os.chmod(fake, 0o755)
    os.makedirs(textdir)
    lines = []
    with open(os.path.join(HERE, "systemd", "reach-run@.service")) as f:
        for raw in f:
            m = re.match(r"^(ExecStartPre|ExecStart|ExecStartPost)=(.*)$", raw.rstrip("\n"))
            if m:
                lines.append(m.groups())
    inst, wd = "flowsync", os.path.join(state, "reach", "flowsync")
    os.makedirs(wd)
    env = dict(os.environ, REACH_TEXTFILE_DIR=textdir, REACH_RUN_ARGS="--vantage host --var host=h")
    problems = []
    for _ in range(2):
        for kind, cmd in lines:
            # systemd's specifiers and $$ escape, and the '+'/'-' prefixes.
            cmd = cmd.lstrip("+-@:!").replace("%i", inst).replace("%S", state).replace("$$", "$")
            cmd = cmd.replace("/usr/local/bin/reach", fake)
            rc = subprocess.call(shlex.split(cmd), cwd=wd, env=env)
            if rc not in (0, 1, 3) or (kind != "ExecStart" and rc != 0):
                problems.append(f"{kind} exited {rc}: {cmd}")
    with open(log) as f:
        calls = f.read().splitlines()
    expect = [
        "run /etc/reach/checks/flowsync.toml --vantage host --var host=h --format json -o report.json",
        "run /etc/reach/checks/flowsync.toml --vantage host --var host=h --format prometheus -o reach.prom",
        "run /etc/reach/checks/flowsync.toml --vantage host --var host=h --format json -o report.json --baseline baseline.json",
        "run /etc/reach/checks/flowsync.toml --vantage host --var host=h --format prometheus -o reach.prom --baseline baseline.json",
    ]
    if calls != expect:
        problems.append("reach was called as:\n  " + "\n  ".join(calls) + "\nexpected:\n  " + "\n  ".join(expect))

    def read(*p):
        with open(os.path.join(*p)) as f:
            return f.read().strip()
    if read(wd, "baseline.json") != "run 1" or read(wd, "report.json") != "run 3":
        problems.append("the second run's baseline is not the first run's report")
    if read(textdir, "reach-flowsync.prom") != "run 4" or len(os.listdir(textdir)) != 1:
        problems.append(f"textfile directory holds {os.listdir(textdir)}, not the latest reach-flowsync.prom")
    fail(problems)


if __name__ == "__main__":
    commands = {"dashboard": cmd_dashboard, "names": cmd_names, "docs-example": cmd_docs_example,
                "web-config": cmd_web_config, "configmap-checks": cmd_configmap_checks,
                "run-unit": cmd_run_unit}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(commands)} [ARG]")
    commands[sys.argv[1]](*sys.argv[2:])
