//! `dns` checks: ask each server of the check for the records of a name, make sure the servers
//! agree, and judge the answer against the requirement.
//!
//! A negative answer (NXDOMAIN, NODATA) is an observation: it passes `resolves = false` and fails
//! anything else. A server that gives no usable answer (timeout, SERVFAIL, REFUSED) leaves the
//! check an error: nothing was observed about the records.

use super::attempt::Attempt;
use super::context::Ctx;
use crate::dns::{DnsValue, RecordType};
use crate::outcome::{
    DnsAnswer, DnsObservation, DnsRecord, ErrorClass, Finding, Observed, ServerAnswer, Stage, Timings,
    Verdict,
};
use crate::spec::DnsCheck;
use std::net::IpAddr;
use std::time::Duration;

/// One attempt: every server at once, then the verdict.
pub async fn attempt(ctx: &Ctx, check: &DnsCheck, timeout: Duration) -> Attempt {
    let servers: Vec<Option<std::net::SocketAddr>> = if check.servers.is_empty() {
        vec![None]
    } else {
        check.servers.iter().copied().map(Some).collect()
    };
    let queries = servers.into_iter().map(|server| {
        ctx.resolver
            .query(&check.name, check.record_type, server, check.protocol, timeout)
    });
    let answers = futures_util::future::join_all(queries).await;
    judge(check, answers)
}

/// Turns the servers' answers into the check's verdict.
pub fn judge(check: &DnsCheck, answers: Vec<ServerAnswer>) -> Attempt {
    let timings = Timings {
        dns: answers.iter().map(|a| a.elapsed).max(),
        ..Timings::default()
    };
    let judged = verdict(check, &answers);
    Attempt {
        finding: Finding::new(judged.verdict, judged.summary)
            .message(judged.message)
            .observed(Observed::Dns(DnsObservation {
                name: check.name.clone(),
                record_type: check.record_type,
                answers,
            }))
            .timings(timings),
        inconclusive: judged.inconclusive,
    }
}

/// The verdict on the servers' answers, and the words for it.
struct Judged {
    verdict: Verdict,
    message: String,
    summary: String,
    inconclusive: bool,
}

impl Judged {
    fn new(verdict: Verdict, message: String, summary: String, inconclusive: bool) -> Judged {
        Judged {
            verdict,
            message,
            summary,
            inconclusive,
        }
    }
}

const STAGE: Stage = Stage::Dns;

fn verdict(check: &DnsCheck, answers: &[ServerAnswer]) -> Judged {
    let failed: Vec<(&ServerAnswer, ErrorClass, &str)> = answers
        .iter()
        .filter_map(|a| match &a.answer {
            DnsAnswer::Failed { class, detail } => Some((a, *class, detail.as_str())),
            _ => None,
        })
        .collect();
    if let Some(&(_, class, _)) = failed.first() {
        let message = failed
            .iter()
            .map(|(a, _, detail)| {
                format!(
                    "{} gave no usable answer for {}: {detail}",
                    a.server,
                    query(check)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        // A silent or failing server may answer next time; a refusal or a malformed answer will not.
        let inconclusive = failed.iter().any(|(_, class, _)| {
            matches!(
                class,
                ErrorClass::Timeout | ErrorClass::Servfail | ErrorClass::Io | ErrorClass::Unreachable
            )
        });
        return Judged::new(
            Verdict::Error { stage: STAGE, class },
            message,
            class.as_str().to_owned(),
            inconclusive,
        );
    }
    let Some(first) = answers.first() else {
        return Judged::new(
            Verdict::Error {
                stage: STAGE,
                class: ErrorClass::DnsError,
            },
            "no server was asked".to_owned(),
            "nothing asked".to_owned(),
            false,
        );
    };
    let said: Vec<String> = answers.iter().map(|a| describe(check, &a.answer)).collect();
    // TTLs count down in caches, so servers that agree on the records may differ on them.
    let keys: Vec<(Vec<String>, Vec<&str>, &'static str)> =
        answers.iter().map(|a| agreement_key(check, &a.answer)).collect();
    if keys.iter().any(|k| *k != keys[0]) {
        let who = answers
            .iter()
            .zip(&said)
            .map(|(a, s)| format!("{} says {s}", a.server))
            .collect::<Vec<_>>()
            .join("; ");
        return Judged::new(
            Verdict::Fail {
                stage: STAGE,
                class: Some(ErrorClass::DnsDrift),
            },
            format!("the servers disagree on {}: {who}", query(check)),
            "servers disagree".to_owned(),
            false,
        );
    }
    let mut summary = said[0].clone();
    if answers.len() > 1 {
        summary.push_str(&format!(" · {} servers agree", answers.len()));
    }
    let from = if answers.len() > 1 {
        "every server".to_owned()
    } else {
        first.server.clone()
    };
    let problems = problems(check, &first.answer);
    match problems {
        None => Judged::new(Verdict::Pass { stage: STAGE }, String::new(), summary, false),
        Some((class, problem)) => Judged::new(
            Verdict::Fail { stage: STAGE, class },
            format!("{problem} (answer from {from})"),
            summary,
            false,
        ),
    }
}

/// Why an answer contradicts the requirement, if it does.
fn problems(check: &DnsCheck, answer: &DnsAnswer) -> Option<(Option<ErrorClass>, String)> {
    let expect = &check.expect;
    let rtype = check.record_type;
    let name = &check.name;
    if rtype != RecordType::Cname && answer.alias_loop(name).is_some() {
        // Not NODATA: the name exists, as an alias that leads back to itself and so to nothing.
        let must = if expect.resolves {
            format!("must have {rtype} records")
        } else {
            format!("must have no {rtype} record and no alias")
        };
        return Some((
            Some(ErrorClass::CnameLoop),
            format!(
                "{must} but its alias chain loops: {}",
                show_chain(&answer.chain_with_loop(name))
            ),
        ));
    }
    let finals = answer.final_records(name, rtype);
    let chain = answer.chain(name);
    if finals.is_empty() {
        // Where the lookup ended: the name itself, or the end of an alias chain that leads
        // nowhere (a dangling CNAME, the classic subdomain takeover).
        let (end, class) = match answer {
            DnsAnswer::NxDomain { name: end, .. } => (end.clone(), ErrorClass::Nxdomain),
            DnsAnswer::NoData { name: end, .. } => (end.clone(), ErrorClass::NoData),
            _ => (
                chain.last().cloned().unwrap_or_else(|| name.clone()),
                ErrorClass::NoData,
            ),
        };
        let dangling = end != *name || chain.len() > 1;
        if !expect.resolves && !dangling {
            return None;
        }
        let seen = match (class, dangling) {
            (ErrorClass::Nxdomain, false) => format!("{name} does not exist (NXDOMAIN)"),
            (_, false) => format!("{name} exists but has no {rtype} record (NODATA)"),
            (ErrorClass::Nxdomain, true) => {
                format!("{name} is an alias whose target {end} does not exist (NXDOMAIN): a dangling CNAME")
            }
            (_, true) => format!("{name} is an alias whose target {end} has no {rtype} record"),
        };
        let must = if expect.resolves {
            format!("must have {rtype} records")
        } else {
            format!("must have no {rtype} record and no alias")
        };
        return Some((Some(class), format!("{must} but {seen}")));
    }
    let values: Vec<&str> = finals.iter().map(|r| r.value.as_str()).collect();
    if !expect.resolves {
        return Some((
            None,
            format!(
                "must have no {rtype} record but {} answers {}",
                show_chain(&chain),
                values.join(", ")
            ),
        ));
    }
    let mut found = Vec::new();
    if let Some(target) = &expect.cname {
        match chain.get(1) {
            Some(first_hop) if first_hop == target => {}
            Some(first_hop) => found.push(format!(
                "must be an alias (CNAME) of {target} but points at {first_hop}"
            )),
            None => found.push(format!(
                "must be an alias (CNAME) of {target} but has no CNAME: it answers {rtype} {} directly",
                values.join(", ")
            )),
        }
    }
    let matched = |wanted: &DnsValue| values.iter().any(|v| wanted.matches(rtype, v));
    if let Some(exactly) = &expect.equals {
        let missing: Vec<&str> = exactly
            .iter()
            .filter(|w| !matched(w))
            .map(DnsValue::as_str)
            .collect();
        let extra: Vec<&str> = values
            .iter()
            .copied()
            .filter(|v| !exactly.iter().any(|w| w.matches(rtype, v)))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            let mut why = Vec::new();
            if !missing.is_empty() {
                why.push(format!("missing {}", missing.join(", ")));
            }
            if !extra.is_empty() {
                why.push(format!("unexpected {}", extra.join(", ")));
            }
            let wanted: Vec<&str> = exactly.iter().map(DnsValue::as_str).collect();
            found.push(format!(
                "{rtype} must be exactly {} but is {} ({})",
                wanted.join(", "),
                values.join(", "),
                why.join("; ")
            ));
        }
    }
    let missing: Vec<&str> = expect
        .contains
        .iter()
        .filter(|w| !matched(w))
        .map(DnsValue::as_str)
        .collect();
    if !missing.is_empty() {
        found.push(format!(
            "{rtype} must include {} but is {}",
            missing.join(", "),
            values.join(", ")
        ));
    }
    let forbidden: Vec<&str> = expect
        .none_of
        .iter()
        .filter(|w| matched(w))
        .map(DnsValue::as_str)
        .collect();
    if !forbidden.is_empty() {
        found.push(format!(
            "{rtype} must not include {} but does",
            forbidden.join(", ")
        ));
    }
    if !expect.within.is_empty() {
        let outside: Vec<&str> = values
            .iter()
            .copied()
            .filter(|v| {
                v.parse::<IpAddr>()
                    .map_or(true, |ip| !expect.within.iter().any(|net| net.contains(&ip)))
            })
            .collect();
        if !outside.is_empty() {
            let nets: Vec<String> = expect.within.iter().map(ToString::to_string).collect();
            found.push(format!("{} outside {}", outside.join(", "), nets.join(", ")));
        }
    }
    if found.is_empty() {
        None
    } else {
        Some((None, format!("{}: {}", show_chain(&chain), found.join("; "))))
    }
}

/// What a server said, in one line that is equal for equal answers: the alias chain, the
/// values sorted, the smallest TTL.
fn describe(check: &DnsCheck, answer: &DnsAnswer) -> String {
    let rtype = check.record_type;
    match answer {
        DnsAnswer::NxDomain { name, negative_ttl } if *name == check.name => {
            format!("NXDOMAIN{}", negative(*negative_ttl))
        }
        DnsAnswer::NxDomain { name, negative_ttl } => {
            format!("alias of {name}: NXDOMAIN{}", negative(*negative_ttl))
        }
        DnsAnswer::NoData { name, negative_ttl } if *name == check.name => {
            format!("no {rtype} record (NODATA){}", negative(*negative_ttl))
        }
        DnsAnswer::NoData { name, negative_ttl } => {
            format!(
                "alias of {name}: no {rtype} record (NODATA){}",
                negative(*negative_ttl)
            )
        }
        DnsAnswer::Failed { class, .. } => class.as_str().to_owned(),
        DnsAnswer::Records(_) if rtype != RecordType::Cname && answer.alias_loop(&check.name).is_some() => {
            format!("alias loop {}", show_chain(&answer.chain_with_loop(&check.name)))
        }
        DnsAnswer::Records(_) => {
            let chain = answer.chain(&check.name);
            let finals = answer.final_records(&check.name, rtype);
            let mut values: Vec<&str> = finals.iter().map(|r| r.value.as_str()).collect();
            values.sort_unstable();
            let aliases = if chain.len() > 1 && rtype != RecordType::Cname {
                format!("{} -> ", chain[1..].join(" -> "))
            } else {
                String::new()
            };
            if values.is_empty() {
                return format!("{aliases}no {rtype} record");
            }
            let ttl = finals.iter().map(|r: &&DnsRecord| r.ttl).min().unwrap_or(0);
            format!("{aliases}{} (ttl {ttl})", values.join(", "))
        }
    }
}

/// What servers must agree on: the alias chain, the values (sorted), and the kind of answer.
fn agreement_key<'a>(check: &DnsCheck, answer: &'a DnsAnswer) -> (Vec<String>, Vec<&'a str>, &'static str) {
    let mut values: Vec<&str> = answer
        .final_records(&check.name, check.record_type)
        .into_iter()
        .map(|r| r.value.as_str())
        .collect();
    values.sort_unstable();
    let (chain, kind) = match answer {
        DnsAnswer::Records(_) => (answer.chain(&check.name), "records"),
        DnsAnswer::NxDomain { name, .. } => (vec![name.clone()], "nxdomain"),
        DnsAnswer::NoData { name, .. } => (vec![name.clone()], "nodata"),
        DnsAnswer::Failed { .. } => (Vec::new(), "failed"),
    };
    (chain, values, kind)
}

fn negative(ttl: Option<u32>) -> String {
    ttl.map(|t| format!(" (negative ttl {t})")).unwrap_or_default()
}

fn show_chain(chain: &[String]) -> String {
    chain.join(" -> ")
}

fn query(check: &DnsCheck) -> String {
    format!("{} {}", check.name, check.record_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsExpectation, DnsProtocol};
    use crate::outcome::Status;

    fn check(record_type: RecordType, expect: DnsExpectation) -> DnsCheck {
        DnsCheck {
            name: "www.shop.test".into(),
            record_type,
            servers: Vec::new(),
            protocol: DnsProtocol::Auto,
            expect,
        }
    }

    fn rec(name: &str, rtype: &str, value: &str) -> DnsRecord {
        DnsRecord {
            name: name.into(),
            record_type: rtype.into(),
            ttl: 300,
            value: value.into(),
        }
    }

    fn from(server: &str, answer: DnsAnswer) -> ServerAnswer {
        ServerAnswer {
            server: server.into(),
            answer,
            elapsed: Duration::from_millis(1),
        }
    }

    fn values(rtype: RecordType, texts: &[&str]) -> Vec<DnsValue> {
        texts.iter().map(|t| rtype.parse_value(t).unwrap()).collect()
    }

    fn aliased() -> DnsAnswer {
        DnsAnswer::Records(vec![
            rec("www.shop.test", "CNAME", "shop.test"),
            rec("shop.test", "A", "192.0.2.10"),
        ])
    }

    #[test]
    fn a_cname_chain_is_followed_and_shown() {
        let expect = DnsExpectation {
            cname: Some("shop.test".into()),
            equals: Some(values(RecordType::A, &["192.0.2.10"])),
            ..DnsExpectation::default()
        };
        let attempt = judge(&check(RecordType::A, expect), vec![from("s", aliased())]);
        assert_eq!(
            attempt.finding.verdict.status(),
            Status::Pass,
            "{}",
            attempt.finding.message
        );
        assert_eq!(attempt.finding.summary, "shop.test -> 192.0.2.10 (ttl 300)");
    }

    #[test]
    fn a_wrong_set_says_what_is_missing_and_what_is_extra() {
        let expect = DnsExpectation {
            equals: Some(values(RecordType::A, &["192.0.2.11"])),
            ..DnsExpectation::default()
        };
        let attempt = judge(&check(RecordType::A, expect), vec![from("s", aliased())]);
        assert_eq!(attempt.finding.verdict.status(), Status::Fail);
        let message = &attempt.finding.message;
        assert!(message.contains("www.shop.test -> shop.test"), "{message}");
        assert!(
            message.contains("missing 192.0.2.11; unexpected 192.0.2.10"),
            "{message}"
        );
    }

    #[test]
    fn negative_answers_pass_resolves_false_and_fail_otherwise() {
        let absent = DnsExpectation {
            resolves: false,
            ..DnsExpectation::default()
        };
        let nx = || DnsAnswer::NxDomain {
            name: "www.shop.test".into(),
            negative_ttl: Some(60),
        };
        let pass = judge(&check(RecordType::A, absent.clone()), vec![from("s", nx())]);
        assert_eq!(pass.finding.verdict.status(), Status::Pass);
        let fail = judge(
            &check(RecordType::A, DnsExpectation::default()),
            vec![from("s", nx())],
        );
        assert_eq!(fail.finding.verdict.status(), Status::Fail);
        assert_eq!(fail.finding.verdict.class(), Some(ErrorClass::Nxdomain));
        let nodata = judge(
            &check(RecordType::A, DnsExpectation::default()),
            vec![from(
                "s",
                DnsAnswer::NoData {
                    name: "www.shop.test".into(),
                    negative_ttl: None,
                },
            )],
        );
        assert_eq!(nodata.finding.verdict.class(), Some(ErrorClass::NoData));
        let present = judge(&check(RecordType::A, absent), vec![from("s", aliased())]);
        assert_eq!(present.finding.verdict.status(), Status::Fail);
    }

    #[test]
    fn a_failing_server_is_an_error_and_a_timeout_is_retried() {
        let timeout = DnsAnswer::Failed {
            class: ErrorClass::Timeout,
            detail: "silent".into(),
        };
        let attempt = judge(
            &check(RecordType::A, DnsExpectation::default()),
            vec![from("s", timeout)],
        );
        assert_eq!(attempt.finding.verdict.status(), Status::Error);
        assert!(attempt.inconclusive);
        let refused = DnsAnswer::Failed {
            class: ErrorClass::ResolverRefused,
            detail: "no".into(),
        };
        let attempt = judge(
            &check(RecordType::A, DnsExpectation::default()),
            vec![from("s", refused)],
        );
        assert_eq!(attempt.finding.verdict.status(), Status::Error);
        assert!(!attempt.inconclusive);
    }

    #[test]
    fn an_alias_chain_that_loops_is_a_cname_loop_not_nodata() {
        let looping = DnsAnswer::Records(vec![
            rec("www.shop.test", "CNAME", "a.shop.test"),
            rec("a.shop.test", "CNAME", "www.shop.test"),
        ]);
        for resolves in [true, false] {
            let expect = DnsExpectation {
                resolves,
                ..DnsExpectation::default()
            };
            let attempt = judge(&check(RecordType::A, expect), vec![from("s", looping.clone())]);
            assert_eq!(attempt.finding.verdict.status(), Status::Fail);
            assert_eq!(attempt.finding.verdict.class(), Some(ErrorClass::CnameLoop));
            assert!(
                attempt
                    .finding
                    .message
                    .contains("alias chain loops: www.shop.test -> a.shop.test -> www.shop.test"),
                "{}",
                attempt.finding.message
            );
            assert_eq!(
                attempt.finding.summary,
                "alias loop www.shop.test -> a.shop.test -> www.shop.test"
            );
        }
    }

    #[test]
    fn servers_that_disagree_fail_with_who_said_what() {
        let attempt = judge(
            &check(RecordType::A, DnsExpectation::default()),
            vec![
                from("inside", aliased()),
                from(
                    "outside",
                    DnsAnswer::NxDomain {
                        name: "www.shop.test".into(),
                        negative_ttl: None,
                    },
                ),
            ],
        );
        assert_eq!(attempt.finding.verdict.status(), Status::Fail);
        assert_eq!(attempt.finding.verdict.class(), Some(ErrorClass::DnsDrift));
        assert!(
            attempt
                .finding
                .message
                .contains("inside says shop.test -> 192.0.2.10 (ttl 300); outside says NXDOMAIN"),
            "{}",
            attempt.finding.message
        );
    }

    #[test]
    fn servers_that_differ_only_in_ttl_agree() {
        let mut cached = aliased();
        if let DnsAnswer::Records(records) = &mut cached {
            for record in records.iter_mut() {
                record.ttl = 17;
            }
        }
        let attempt = judge(
            &check(RecordType::A, DnsExpectation::default()),
            vec![from("authoritative", aliased()), from("cache", cached)],
        );
        assert_eq!(
            attempt.finding.verdict.status(),
            Status::Pass,
            "{}",
            attempt.finding.message
        );
        assert!(attempt.finding.summary.ends_with("2 servers agree"));
    }

    #[test]
    fn addresses_must_fall_in_the_network() {
        let expect = DnsExpectation {
            within: vec!["198.51.100.0/24".parse().unwrap()],
            ..DnsExpectation::default()
        };
        let attempt = judge(&check(RecordType::A, expect), vec![from("s", aliased())]);
        assert_eq!(attempt.finding.verdict.status(), Status::Fail);
        assert!(attempt
            .finding
            .message
            .contains("192.0.2.10 outside 198.51.100.0/24"));
    }
}
