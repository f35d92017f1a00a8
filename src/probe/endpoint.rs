//! `endpoint` checks: is an external API reachable from here (DNS, TCP, TLS with a trusted chain,
//! any HTTP answer), and, with `auth = true`, does it accept this host's key?
//!
//! A 401 or 403 without a key proves reachability: the provider's own server answered. The key
//! itself is sent as a sensitive header and scrubbed from every text of the result, so it can
//! appear in no report, log or error message.

use super::attempt::Attempt;
use super::context::Ctx;
use super::http::exchange::{self, Exchange, Outgoing};
use crate::classify;
use crate::outcome::{ErrorClass, Finding, HttpObservation, Observed, Stage, Status, Verdict};
use crate::spec::request::{AuthScheme, EndpointCheck, HttpVersion};
use crate::text::ms;
use http::{HeaderName, HeaderValue};
use std::time::Duration;

/// Shortest key that is scrubbed from output by its text (shorter ones would mangle words).
const MIN_SCRUBBED: usize = 4;

pub async fn attempt(ctx: &Ctx, check: &EndpointCheck, timeout: Duration) -> Attempt {
    let key = check
        .provider
        .and_then(|p| ctx.http.keys.for_provider(p).map(|k| (p, k)));
    let secret = match (check.auth, key) {
        (true, Some((provider, (variable, value)))) => {
            let scheme = match provider.auth_scheme() {
                AuthScheme::Bearer => "Bearer",
                AuthScheme::Token => "Token",
            };
            match HeaderValue::from_str(&format!("{scheme} {value}")) {
                Ok(header) => Some((HeaderName::from_static("authorization"), header)),
                Err(_) => {
                    return Attempt::settled(Finding::error(
                        Stage::Assert,
                        ErrorClass::NoCredential,
                        format!("the value of {variable} has characters an HTTP header cannot carry"),
                    ))
                }
            }
        }
        _ => None,
    };
    let out = Outgoing {
        method: &http::Method::GET,
        url: &check.url,
        version: HttpVersion::Auto,
        headers: &[],
        secret,
        body: None,
        proxy: &check.proxy,
        pin: None,
    };
    let mut attempt = match exchange::exchange(ctx, &out, timeout).await {
        Err(error) => error.into_attempt(HttpObservation {
            url: check.url.to_string(),
            ..HttpObservation::default()
        }),
        Ok(exchange) => judge(check, &exchange, key.map(|(_, (variable, _))| variable)),
    };
    if let Some((_, (_, value))) = key {
        scrub(&mut attempt.finding, value);
    }
    attempt
}

fn judge(check: &EndpointCheck, exchange: &Exchange, key_variable: Option<&str>) -> Attempt {
    let host = check.url.host_str().unwrap_or_default();
    let status = exchange.status;
    let with_key = check.auth && key_variable.is_some();
    let (verdict, message, inconclusive) = if status >= 500 {
        (Verdict::Fail { stage: Stage::Http, class: Some(ErrorClass::Http5xx) },
            format!("{host} is reachable (DNS, TCP and TLS are fine) but answered {status}: the provider is failing"),
            true,
        )
    } else if !check.auth {
        (Verdict::Pass { stage: Stage::Http }, String::new(), false)
    } else if let Some(variable) = key_variable {
        match status {
            200..=299 => (Verdict::Pass { stage: Stage::Http }, String::new(), false),
            401 => (
                Verdict::Fail {
                    stage: Stage::Http,
                    class: Some(ErrorClass::KeyRejected),
                },
                format!("key rejected: {host} answered 401 to the key in {variable}"),
                false,
            ),
            403 => (
                Verdict::Fail {
                    stage: Stage::Http,
                    class: Some(ErrorClass::KeyRejected),
                },
                format!("key rejected: {host} answered 403 (the key in {variable} lacks permission)"),
                false,
            ),
            429 => (
                Verdict::Error {
                    stage: Stage::Http,
                    class: ErrorClass::Http4xx,
                },
                format!(
                    "{host} is reachable but rate-limited the request (429): the key could not be checked"
                ),
                true,
            ),
            _ => (
                Verdict::Fail {
                    stage: Stage::Http,
                    class: classify::http_status(status),
                },
                format!("{host} answered {status} to an authenticated request (expected 2xx)"),
                false,
            ),
        }
    } else {
        let variables = check
            .provider
            .map(|p| p.key_variables().join(" or "))
            .unwrap_or_default();
        (
            Verdict::Error {
                stage: Stage::Assert,
                class: ErrorClass::NoCredential,
            },
            format!(
                "{host} is reachable ({status}), but the key could not be checked: {variables} is not set"
            ),
            false,
        )
    };
    let mut summary = match (with_key, verdict.status()) {
        (true, Status::Pass) => format!("key accepted ({status})"),
        (true, _) => format!("answered {status} with the key"),
        (false, _) if status < 500 => format!("reachable ({status})"),
        (false, _) => format!("answered {status}"),
    };
    summary.push_str(&format!(" in {}", ms(exchange.response_time)));
    if exchange.info.proxy.is_some() {
        summary.push_str(" via proxy");
    }
    let observed = HttpObservation {
        url: check.url.to_string(),
        address: Some(exchange.info.address),
        proxy: exchange.info.proxy.clone(),
        reused_connection: exchange.reused,
        tls: exchange.info.tls.clone(),
        status: Some(status),
        version: Some(exchange.version.to_owned()),
        redirects: Vec::new(),
        response_time: Some(exchange.response_time),
        latency: None,
        body_bytes: Some(exchange.body_bytes),
        body_truncated: exchange.body_truncated,
        echoed: None,
        addresses: Vec::new(),
    };
    Attempt {
        finding: Finding::new(verdict, summary)
            .message(message)
            .observed(Observed::Http(Box::new(observed)))
            .timings(exchange.timings),
        inconclusive,
    }
}

/// Removes every trace of `secret` from the texts of a finding.
fn scrub(finding: &mut Finding, secret: &str) {
    if secret.len() < MIN_SCRUBBED {
        return;
    }
    let clean = |text: &mut String| {
        if text.contains(secret) {
            *text = text.replace(secret, "[redacted]");
        }
    };
    clean(&mut finding.message);
    clean(&mut finding.summary);
    if let Observed::Http(observed) = &mut finding.observed {
        clean(&mut observed.url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_removes_the_key_from_every_text() {
        let mut finding = Finding::error(Stage::Http, ErrorClass::Io, "bad key sk-123456 here");
        finding.summary = "sk-123456".into();
        scrub(&mut finding, "sk-123456");
        assert_eq!(finding.message, "bad key [redacted] here");
        assert_eq!(finding.summary, "[redacted]");
    }
}
