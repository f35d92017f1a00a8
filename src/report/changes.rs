//! What changed between a baseline report and this run: a status that flipped, a port that
//! opened or stopped answering, a TLS version or suite accepted or no longer, a renewed
//! certificate or a new key, a DNS answer that changed, a check that appeared or went away.
//!
//! Only what was observed on both sides is compared: a check skipped in either run, a port
//! that could not be probed, a DNS server that did not answer, or a field an older report lacks
//! is left out, so a change is always a difference between two observations.

use super::escape::visible;
use super::snapshot::{
    CertificateFacts, CheckFacts, DnsAnswerFacts, ProbeFacts, ScanHostFacts, Snapshot, TlsFacts,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

/// The kinds of change, as the JSON report's `what` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum What {
    /// The check's status flipped (pass, fail, error).
    Status,
    /// A check that the baseline does not have.
    CheckAdded,
    /// A check of the baseline that this run does not have.
    CheckRemoved,
    /// A port's state on one address (tcp checks, scans).
    Port,
    /// A TLS version is accepted now and was refused before, or the reverse.
    TlsVersion,
    /// A suite accepted under a version that both runs accept, or no longer.
    TlsSuite,
    /// Another leaf certificate (a renewal, or a replacement).
    Certificate,
    /// The leaf certificate's public key changed.
    CertificateKey,
    /// A DNS server's answer changed (TTLs aside).
    DnsAnswer,
}

impl What {
    pub const ALL: &'static [What] = &[
        What::Status,
        What::CheckAdded,
        What::CheckRemoved,
        What::Port,
        What::TlsVersion,
        What::TlsSuite,
        What::Certificate,
        What::CertificateKey,
        What::DnsAnswer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            What::Status => "status",
            What::CheckAdded => "check-added",
            What::CheckRemoved => "check-removed",
            What::Port => "port",
            What::TlsVersion => "tls-version",
            What::TlsSuite => "tls-suite",
            What::Certificate => "certificate",
            What::CertificateKey => "certificate-key",
            What::DnsAnswer => "dns-answer",
        }
    }
}

/// One difference between the baseline and this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The check it belongs to.
    pub id: String,
    pub what: What,
    /// What inside the check changed, where a check has several: `10.0.0.5:5432`, `TLSv1.2`,
    /// a DNS server.
    pub subject: Option<String>,
    /// `None`: absent on that side (a suite not accepted, a check not in the report).
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Every change since a baseline, in the order of this run's checks (removed checks last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The baseline file, as the user named it.
    pub file: String,
    /// When the baseline run started (its `started_at`).
    pub started_at: String,
    pub list: Vec<Change>,
    changed: HashSet<String>,
}

impl Changes {
    pub fn new(file: String, started_at: String, list: Vec<Change>) -> Changes {
        let changed = list.iter().map(|c| c.id.clone()).collect();
        Changes {
            file,
            started_at,
            list,
            changed,
        }
    }

    /// Whether anything about this check changed.
    pub fn changed(&self, id: &str) -> bool {
        self.changed.contains(id)
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The changes from `before` to `after`.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<Change> {
    let mut old: HashMap<&str, &CheckFacts> = HashMap::new();
    for check in &before.checks {
        old.entry(check.id.as_str()).or_insert(check);
    }
    let mut changes = Vec::new();
    let mut seen = HashSet::new();
    for now in &after.checks {
        seen.insert(now.id.as_str());
        match old.get(now.id.as_str()) {
            Some(then) => compare(then, now, &mut changes),
            None => changes.push(Change {
                id: now.id.clone(),
                what: What::CheckAdded,
                subject: None,
                before: None,
                after: Some(now.status.clone()),
            }),
        }
    }
    for then in &before.checks {
        if seen.insert(then.id.as_str()) {
            changes.push(Change {
                id: then.id.clone(),
                what: What::CheckRemoved,
                subject: None,
                before: Some(then.status.clone()),
                after: None,
            });
        }
    }
    changes
}

/// Whether a status says something was observed (a skipped check saw nothing).
fn observed(status: &str) -> bool {
    matches!(status, "pass" | "fail" | "error")
}

fn compare(then: &CheckFacts, now: &CheckFacts, out: &mut Vec<Change>) {
    if !observed(&then.status) || !observed(&now.status) {
        return;
    }
    let mut push = |what: What, subject: Option<String>, before: Option<String>, after: Option<String>| {
        out.push(Change {
            id: now.id.clone(),
            what,
            subject,
            before,
            after,
        });
    };
    if then.status != now.status {
        push(
            What::Status,
            None,
            Some(then.status.clone()),
            Some(now.status.clone()),
        );
    }
    let (a, b) = (&then.observed, &now.observed);
    if let (Some(a), Some(b)) = (&a.addresses, &b.addresses) {
        for (subject, before, after) in address_changes(a, b) {
            push(What::Port, Some(subject), Some(before), Some(after));
        }
    }
    if let (Some(ports_a), Some(ports_b)) = (&a.ports, &b.ports) {
        let no_answer = |hosts: &Option<Vec<ScanHostFacts>>| -> BTreeSet<String> {
            hosts
                .iter()
                .flatten()
                .filter(|h| h.state == "no-answer")
                .map(|h| h.address.clone())
                .collect()
        };
        let (silent_a, silent_b) = (no_answer(&a.hosts), no_answer(&b.hosts));
        // An address that answered nothing in one run and something in the other: one change
        // for the address rather than one per port.
        for address in silent_a.symmetric_difference(&silent_b) {
            let answered = |hosts: &Option<Vec<ScanHostFacts>>| {
                hosts
                    .iter()
                    .flatten()
                    .any(|h| &h.address == address && h.state == "answered")
            };
            if silent_a.contains(address) && answered(&b.hosts) {
                push(
                    What::Port,
                    Some(address.clone()),
                    Some("no-answer".into()),
                    Some("answered".into()),
                );
            } else if silent_b.contains(address) && answered(&a.hosts) {
                push(
                    What::Port,
                    Some(address.clone()),
                    Some("answered".into()),
                    Some("no-answer".into()),
                );
            }
        }
        for (subject, before, after) in scan_changes(ports_a, ports_b, &silent_a, &silent_b) {
            push(What::Port, Some(subject), Some(before), Some(after));
        }
    }
    if let (Some(a), Some(b)) = (&a.tls, &b.tls) {
        tls_changes(a, b, &mut push);
    }
    if let (Some(a), Some(b)) = (&a.dns, &b.dns) {
        let answers = |list: &[DnsAnswerFacts]| -> BTreeMap<String, String> {
            list.iter()
                .filter_map(|answer| Some((answer.server.clone(), dns_text(answer)?)))
                .collect()
        };
        let (a, b) = (answers(&a.answers), answers(&b.answers));
        for (server, before) in &a {
            match b.get(server) {
                Some(after) if after != before => push(
                    What::DnsAnswer,
                    Some(server.clone()),
                    Some(before.clone()),
                    Some(after.clone()),
                ),
                _ => {}
            }
        }
    }
}

/// tcp checks: addresses probed in both runs whose port state differs.
fn address_changes(a: &[ProbeFacts], b: &[ProbeFacts]) -> Vec<(String, String, String)> {
    let states = |list: &[ProbeFacts]| -> BTreeMap<String, String> {
        list.iter()
            .filter_map(|p| Some((p.address.clone(), p.state.clone()?)))
            .collect()
    };
    let (a, b) = (states(a), states(b));
    a.iter()
        .filter_map(|(address, before)| {
            let after = b.get(address)?;
            (after != before).then(|| (address.clone(), before.clone(), after.clone()))
        })
        .collect()
}

/// Scans list every port that was not closed: a port listed on one side only was closed on the
/// other, or filtered if its address answered nothing there (`silent_a`, `silent_b`). A port
/// that could not be probed (an error, no state) is compared with nothing.
fn scan_changes(
    a: &[ProbeFacts],
    b: &[ProbeFacts],
    silent_a: &BTreeSet<String>,
    silent_b: &BTreeSet<String>,
) -> Vec<(String, String, String)> {
    type Ports = BTreeMap<(String, u16), Option<String>>;
    let ports = |list: &[ProbeFacts]| -> Ports {
        list.iter()
            .filter_map(|p| Some(((p.address.clone(), p.port?), p.state.clone())))
            .collect()
    };
    let (a, b) = (ports(a), ports(b));
    let keys: BTreeSet<&(String, u16)> = a.keys().chain(b.keys()).collect();
    let (closed, filtered) = (Some("closed".to_owned()), Some("filtered".to_owned()));
    let unlisted = |silent: &BTreeSet<String>, address: &String| {
        if silent.contains(address) {
            &filtered
        } else {
            &closed
        }
    };
    keys.into_iter()
        .filter_map(|key| {
            let before = a.get(key).unwrap_or_else(|| unlisted(silent_a, &key.0)).clone()?;
            let after = b.get(key).unwrap_or_else(|| unlisted(silent_b, &key.0)).clone()?;
            (before != after).then(|| (socket_text(&key.0, key.1), before, after))
        })
        .collect()
}

fn socket_text(address: &str, port: u16) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

fn tls_changes(
    a: &TlsFacts,
    b: &TlsFacts,
    push: &mut impl FnMut(What, Option<String>, Option<String>, Option<String>),
) {
    // Only definite answers: an inconclusive version was not observed.
    let states = |t: &TlsFacts| -> BTreeMap<String, String> {
        t.versions
            .iter()
            .filter(|v| matches!(v.state.as_str(), "accepted" | "refused"))
            .map(|v| (v.version.clone(), v.state.clone()))
            .collect()
    };
    let (va, vb) = (states(a), states(b));
    for (version, before) in &va {
        let Some(after) = vb.get(version) else { continue };
        if after != before {
            push(
                What::TlsVersion,
                Some(version.clone()),
                Some(before.clone()),
                Some(after.clone()),
            );
        } else if before == "accepted" {
            let suites = |t: &TlsFacts| -> Vec<String> {
                t.protocols
                    .get(version)
                    .map(|list| list.iter().map(|s| s.iana.clone()).collect())
                    .unwrap_or_default()
            };
            let (sa, sb) = (suites(a), suites(b));
            for gone in sa.iter().filter(|s| !sb.contains(s)) {
                push(What::TlsSuite, Some(version.clone()), Some(gone.clone()), None);
            }
            for new in sb.iter().filter(|s| !sa.contains(s)) {
                push(What::TlsSuite, Some(version.clone()), None, Some(new.clone()));
            }
        }
    }
    let (Some(ca), Some(cb)) = (&a.certificate, &b.certificate) else {
        return;
    };
    let differ = |x: &Option<String>, y: &Option<String>| matches!((x, y), (Some(x), Some(y)) if x != y);
    // The fingerprint tells one certificate from another; a report without it (an older reach)
    // still shows a renewal through the serial or the expiry date.
    let renewed = if ca.fingerprint_sha256.is_some() && cb.fingerprint_sha256.is_some() {
        differ(&ca.fingerprint_sha256, &cb.fingerprint_sha256)
    } else {
        differ(&ca.serial, &cb.serial) || differ(&ca.not_after, &cb.not_after)
    };
    if renewed {
        let text = |c: &CertificateFacts| {
            let mut parts = Vec::new();
            if let Some(serial) = &c.serial {
                parts.push(format!("serial {serial}"));
            }
            if let Some(not_after) = &c.not_after {
                parts.push(format!("not after {not_after}"));
            }
            if let Some(fingerprint) = &c.fingerprint_sha256 {
                parts.push(format!("sha256 {fingerprint}"));
            }
            parts.join(", ")
        };
        push(What::Certificate, None, Some(text(ca)), Some(text(cb)));
    }
    if differ(&ca.key_sha256, &cb.key_sha256) {
        let text = |c: &CertificateFacts| {
            let kind = match (&c.key_type, c.key_bits) {
                (Some(t), Some(bits)) if bits > 0 => format!("{t} {bits} bits, "),
                (Some(t), _) => format!("{t}, "),
                _ => String::new(),
            };
            format!("{kind}sha256 {}", c.key_sha256.as_deref().unwrap_or_default())
        };
        push(What::CertificateKey, None, Some(text(ca)), Some(text(cb)));
    }
}

/// A server's answer as compared: the records (name, type, value; not the TTL, which a cache
/// counts down), sorted; or the negative answer. `None` when the server gave no answer.
fn dns_text(answer: &DnsAnswerFacts) -> Option<String> {
    match answer.result.as_str() {
        "records" => {
            let mut records: Vec<String> = answer
                .records
                .iter()
                .flatten()
                .map(|r| format!("{} {} {}", r.name, r.record_type, r.value))
                .collect();
            records.sort();
            records.dedup();
            Some(if records.is_empty() {
                "no records".to_owned()
            } else {
                records.join(", ")
            })
        }
        "nxdomain" | "nodata" => Some(answer.result.clone()),
        _ => None,
    }
}

/// Values longer than this are cut in the human block (the JSON report has them whole).
const MAX_VALUE: usize = 72;

/// The "changes since" block of the human report.
pub fn render_human(changes: &Changes) -> String {
    let mut out = String::new();
    let source = visible(&changes.file);
    let since = visible(&changes.started_at);
    if changes.list.is_empty() {
        let _ = writeln!(out, "\nno changes since {since} ({source})");
        return out;
    }
    let count = changes.list.len();
    let plural = if count == 1 { "" } else { "s" };
    let _ = writeln!(out, "\n{count} change{plural} since {since} ({source}):");
    let width = changes
        .list
        .iter()
        .map(|c| visible(&c.id).chars().count())
        .max()
        .unwrap_or(0);
    for change in &changes.list {
        let id = visible(&change.id);
        let pad = " ".repeat(width.saturating_sub(id.chars().count()));
        let subject = change
            .subject
            .as_deref()
            .map(|s| format!(" {}", visible(s)))
            .unwrap_or_default();
        let side = |value: &Option<String>| match value {
            Some(v) => cut(&visible(v), MAX_VALUE),
            None => "(none)".to_owned(),
        };
        let _ = writeln!(
            out,
            "  {id}{pad}  {}{subject}: {} -> {}",
            change.what.as_str(),
            side(&change.before),
            side(&change.after)
        );
    }
    out
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max - 1).collect();
        format!("{kept}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(address: &str, port: u16, state: &str) -> ProbeFacts {
        ProbeFacts {
            address: address.to_owned(),
            port: Some(port),
            state: Some(state.to_owned()),
        }
    }

    #[test]
    fn the_unlisted_ports_of_an_address_that_answered_nothing_are_filtered_not_closed() {
        let before = [
            port("198.18.0.1", 22, "open"),
            port("198.18.0.1", 5432, "filtered"),
        ];
        let silent = BTreeSet::from(["198.18.0.1".to_owned()]);
        let changes = scan_changes(&before, &[], &BTreeSet::new(), &silent);
        assert_eq!(
            changes,
            [(
                "198.18.0.1:22".to_owned(),
                "open".to_owned(),
                "filtered".to_owned()
            )]
        );
        // Answering again, its unlisted ports are closed.
        let changes = scan_changes(&[], &before, &silent, &BTreeSet::new());
        assert_eq!(
            changes,
            [(
                "198.18.0.1:22".to_owned(),
                "filtered".to_owned(),
                "open".to_owned()
            )]
        );
    }
}
