//! `http` checks: send the request (following redirects when asked, `samples` times), then judge
//! the answer against the expectations: status, redirect target, headers, body, latency.

use super::exchange::{self, Exchange, Outgoing};
use super::stage::StageError;
use crate::classify;
use crate::outcome::{
    ErrorClass, Finding, HttpObservation, LatencyStats, Observed, RedirectHop, Stage, Timings, Verdict,
};
use crate::probe::attempt::Attempt;
use crate::probe::context::Ctx;
use crate::spec::request::{BodyRule, HeaderRule, HeaderTest, HttpCheck, MAX_REDIRECTS};
use crate::text::ms;
use std::time::Duration;
use url::Url;

/// One attempt: `samples` requests, each with its own `timeout`.
pub async fn attempt(ctx: &Ctx, check: &HttpCheck, timeout: Duration) -> Attempt {
    let mut first: Option<Followed> = None;
    // Every sample must answer as required, not only the first: a 503 on the third request
    // is a failure even when the first was a 200.
    let mut off: Option<Followed> = None;
    let statuses = check.expect.statuses(check.follow_redirects);
    let mut times = Vec::with_capacity(check.samples as usize);
    for _ in 0..check.samples {
        match follow(ctx, check, timeout).await {
            Ok(followed) => {
                times.push(followed.last.response_time);
                if first.is_none() {
                    first = Some(followed);
                } else if off.is_none() && !statuses.iter().any(|s| s.matches(followed.last.status)) {
                    off = Some(followed);
                }
            }
            Err(failed) => return failed.error.into_attempt(failed.observation),
        }
    }
    match off.or(first) {
        Some(followed) => judge(check, &followed, &times),
        None => StageError::error(Stage::Http, ErrorClass::Io, "no request was made".to_owned())
            .into_attempt(HttpObservation::default()),
    }
}

/// A request and the redirects followed from it.
struct Followed {
    /// The first response's status and resolved `Location`.
    first_status: u16,
    first_location: Option<Url>,
    hops: Vec<RedirectHop>,
    last: Exchange,
    last_url: Url,
    /// Connection stages of the first request.
    first_timings: Timings,
}

struct Failed {
    error: StageError,
    observation: HttpObservation,
}

async fn follow(ctx: &Ctx, check: &HttpCheck, timeout: Duration) -> Result<Followed, Failed> {
    let request = &check.request;
    let mut url = request.url.clone();
    let mut method = request.method.clone();
    let mut body = request.body.as_deref();
    let mut hops: Vec<RedirectHop> = Vec::new();
    let mut first: Option<(u16, Option<Url>, Timings)> = None;
    loop {
        let out = Outgoing {
            method: &method,
            url: &url,
            headers: &request.headers,
            secret: None,
            body,
            proxy: &request.proxy,
        };
        let exchange = exchange::exchange(ctx, &out, timeout)
            .await
            .map_err(|error| Failed {
                observation: HttpObservation {
                    url: url.to_string(),
                    address: error.address,
                    redirects: hops.clone(),
                    ..HttpObservation::default()
                },
                error,
            })?;
        let location = (300..400)
            .contains(&exchange.status)
            .then(|| exchange.headers.get(http::header::LOCATION))
            .flatten()
            .and_then(|l| l.to_str().ok())
            .and_then(|l| url.join(l).ok());
        let (first_status, first_location, first_timings) = first
            .get_or_insert_with(|| (exchange.status, location.clone(), exchange.timings))
            .clone();
        let next = match (&location, check.follow_redirects) {
            (Some(next), true) => next.clone(),
            _ => {
                return Ok(Followed {
                    first_status,
                    first_location,
                    hops,
                    last: exchange,
                    last_url: url,
                    first_timings,
                })
            }
        };
        hops.push(RedirectHop {
            url: url.to_string(),
            status: exchange.status,
            location: next.to_string(),
        });
        let seen = next == request.url || hops.iter().any(|h| h.url == next.as_str());
        let stop = if seen {
            let chain: Vec<&str> = hops
                .iter()
                .map(|h| h.url.as_str())
                .chain([next.as_str()])
                .collect();
            Some((
                ErrorClass::RedirectLoop,
                format!("redirect loop: {}", chain.join(" -> ")),
            ))
        } else if hops.len() >= MAX_REDIRECTS {
            Some((
                ErrorClass::TooManyRedirects,
                format!("more than {MAX_REDIRECTS} redirects from {}", request.url),
            ))
        } else if !matches!(next.scheme(), "http" | "https") {
            Some((
                ErrorClass::HttpProtocol,
                format!("{url} redirects to `{next}`, which is not an http(s) URL"),
            ))
        } else {
            None
        };
        if let Some((class, message)) = stop {
            let mut error = StageError::fail(Stage::Http, class, message);
            error.timings = first_timings;
            return Err(Failed {
                observation: observation(&exchange, &url, hops, None),
                error,
            });
        }
        // As browsers and curl do: 303, and 301/302 after anything but GET/HEAD, become a GET.
        if exchange.status == 303
            || (matches!(exchange.status, 301 | 302)
                && !matches!(method, http::Method::GET | http::Method::HEAD))
        {
            method = http::Method::GET;
            body = None;
        }
        url = next;
    }
}

fn observation(
    exchange: &Exchange,
    url: &Url,
    redirects: Vec<RedirectHop>,
    latency: Option<LatencyStats>,
) -> HttpObservation {
    HttpObservation {
        url: url.to_string(),
        address: Some(exchange.info.address),
        proxy: exchange.info.proxy.clone(),
        reused_connection: exchange.reused,
        tls: exchange.info.tls.clone(),
        status: Some(exchange.status),
        version: Some(exchange.version.to_owned()),
        redirects,
        response_time: Some(exchange.response_time),
        latency,
        body_bytes: Some(exchange.body_bytes),
        echoed: None,
    }
}

fn judge(check: &HttpCheck, followed: &Followed, times: &[Duration]) -> Attempt {
    let expect = &check.expect;
    let last = &followed.last;
    let mut failures: Vec<String> = Vec::new();
    let mut stage = Stage::Assert;
    let mut class = None;

    let statuses = expect.statuses(check.follow_redirects);
    if !statuses.iter().any(|s| s.matches(last.status)) {
        let wanted: Vec<String> = statuses.iter().map(ToString::to_string).collect();
        failures.push(format!(
            "status {} (expected {})",
            last.status,
            wanted.join(" or ")
        ));
        stage = Stage::Http;
        class = classify::http_status(last.status);
    }
    if let Some(target) = &expect.redirect_to {
        match &followed.first_location {
            Some(location) if location == target => {}
            Some(location) => {
                failures.push(format!("redirects to {location} (expected {target})"));
                stage = Stage::Http;
            }
            None => {
                failures.push(format!(
                    "answered {} without a redirect (expected one to {target})",
                    followed.first_status
                ));
                stage = Stage::Http;
            }
        }
    }
    for rule in &expect.headers {
        if let Some(problem) = header_problem(rule, &last.headers) {
            failures.push(problem);
        }
    }
    for rule in &expect.body {
        if let Some(problem) = body_problem(rule, &last.body) {
            failures.push(problem);
        }
    }
    let stats = LatencyStats::of(times);
    if let Some(stats) = stats {
        let over = |label: &str, seen: Duration, budget: Option<Duration>| {
            budget.filter(|b| seen > *b).map(|b| {
                format!(
                    "{label} response time {} over the {}ms budget",
                    ms(seen),
                    b.as_millis()
                )
            })
        };
        failures.extend(over("slowest", stats.max, expect.max));
        failures.extend(over("average", stats.avg, expect.avg));
        failures.extend(over("p95", stats.p95, expect.p95));
    }

    let latency = (check.samples > 1).then_some(stats).flatten();
    let summary = summarize(followed, latency);
    let observed = observation(last, &followed.last_url, followed.hops.clone(), latency);
    let timings = Timings {
        ttfb: followed.first_timings.ttfb,
        ..followed.first_timings
    };
    let verdict = if failures.is_empty() {
        Verdict::Pass { stage: Stage::Http }
    } else {
        Verdict::Fail { stage, class }
    };
    Attempt {
        finding: Finding::new(verdict, summary)
            .message(failures.join("; "))
            .observed(Observed::Http(Box::new(observed)))
            .timings(timings),
        // A 5xx may pass on its own (a restart, a deploy); another attempt is worth it.
        inconclusive: class == Some(ErrorClass::Http5xx) && !failures.is_empty(),
    }
}

fn summarize(followed: &Followed, latency: Option<LatencyStats>) -> String {
    let mut statuses: Vec<String> = followed.hops.iter().map(|h| h.status.to_string()).collect();
    statuses.push(followed.last.status.to_string());
    let mut summary = statuses.join(" -> ");
    if followed.hops.is_empty() {
        if let Some(location) = &followed.first_location {
            summary = format!("{summary} -> {location}");
        }
    }
    match latency {
        Some(stats) => summary.push_str(&format!(
            ", avg {} p95 {} ({} samples)",
            ms(stats.avg),
            ms(stats.p95),
            stats.samples
        )),
        None => summary.push_str(&format!(" in {}", ms(followed.last.response_time))),
    }
    if followed.last.info.proxy.is_some() {
        summary.push_str(" via proxy");
    }
    summary
}

fn header_problem(rule: &HeaderRule, headers: &http::HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(rule.name.as_str())
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let name = &rule.name;
    match &rule.test {
        HeaderTest::Present => values.is_empty().then(|| format!("header {name} is missing")),
        HeaderTest::Absent => {
            (!values.is_empty()).then(|| format!("header {name} is present ({})", values.join(", ")))
        }
        _ if values.is_empty() => Some(format!("header {name} is missing")),
        HeaderTest::Equals(wanted) => (!values.iter().any(|v| v.trim() == wanted))
            .then(|| format!("header {name} is `{}` (expected `{wanted}`)", values.join(", "))),
        HeaderTest::Matches(pattern) => (!values.iter().any(|v| pattern.0.is_match(v))).then(|| {
            format!(
                "header {name} is `{}`, which does not match /{}/",
                values.join(", "),
                pattern.0.as_str()
            )
        }),
        HeaderTest::MaxAgeAtLeast(min) => {
            let age = values.iter().find_map(|v| max_age(v));
            match age {
                Some(age) if age >= *min => None,
                Some(age) => Some(format!(
                    "header {name} has max-age={age} (expected at least {min})"
                )),
                None => Some(format!("header {name} has no max-age directive")),
            }
        }
    }
}

/// The `max-age=N` directive of a header value such as Strict-Transport-Security.
fn max_age(value: &str) -> Option<u64> {
    value.split([';', ',']).find_map(|directive| {
        let (key, number) = directive.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| number.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

fn body_problem(rule: &BodyRule, body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    match rule {
        BodyRule::Contains(wanted) => {
            (!text.contains(wanted.as_str())).then(|| format!("body does not contain `{wanted}`"))
        }
        BodyRule::Matches(pattern) => {
            (!pattern.0.is_match(&text)).then(|| format!("body does not match /{}/", pattern.0.as_str()))
        }
        BodyRule::JsonEquals { pointer, value } => {
            let parsed: serde_json::Value = match serde_json::from_slice(body) {
                Ok(parsed) => parsed,
                Err(e) => return Some(format!("body is not JSON ({e})")),
            };
            match parsed.pointer(pointer) {
                None => Some(format!("body has nothing at JSON pointer `{pointer}`")),
                Some(found) if json_equal(found, value) => None,
                Some(found) => Some(format!("body at `{pointer}` is {found} (expected {value})")),
            }
        }
    }
}

/// JSON equality where `1` and `1.0` are the same number (TOML writes them differently).
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a, b) {
        (serde_json::Value::Number(x), serde_json::Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::request::Pattern;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, http::HeaderValue::from_static(v));
        }
        map
    }

    fn rule(name: &str, test: HeaderTest) -> HeaderRule {
        HeaderRule {
            name: name.into(),
            test,
        }
    }

    #[test]
    fn hsts_max_age_is_read_from_its_directives() {
        assert_eq!(max_age("max-age=31536000; includeSubDomains"), Some(31_536_000));
        assert_eq!(max_age("includeSubDomains; Max-Age=\"60\""), Some(60));
        assert_eq!(max_age("includeSubDomains"), None);
        let hsts = headers(&[("strict-transport-security", "max-age=300")]);
        let problem = header_problem(
            &rule("strict-transport-security", HeaderTest::MaxAgeAtLeast(31_536_000)),
            &hsts,
        );
        assert!(problem.unwrap().contains("max-age=300"));
        assert!(header_problem(
            &rule("strict-transport-security", HeaderTest::MaxAgeAtLeast(300)),
            &hsts
        )
        .is_none());
        assert!(header_problem(&rule("server", HeaderTest::Absent), &hsts).is_none());
        let pattern = Pattern(regex_lite::Regex::new("^max-age=\\d+$").unwrap());
        assert!(header_problem(
            &rule("strict-transport-security", HeaderTest::Matches(pattern)),
            &hsts
        )
        .is_none());
    }

    #[test]
    fn json_pointers_compare_numbers_by_value() {
        let body = br#"{"status": "ok", "checks": {"db": 1.0}}"#;
        let rule = |pointer: &str, value: serde_json::Value| BodyRule::JsonEquals {
            pointer: pointer.into(),
            value,
        };
        assert!(body_problem(&rule("/status", "ok".into()), body).is_none());
        assert!(body_problem(&rule("/checks/db", 1.into()), body).is_none());
        assert!(body_problem(&rule("/status", "down".into()), body)
            .unwrap()
            .contains("\"ok\""));
        assert!(body_problem(&rule("/nope", 1.into()), body)
            .unwrap()
            .contains("nothing at"));
        assert!(body_problem(&rule("/status", 1.into()), b"<html>")
            .unwrap()
            .contains("not JSON"));
    }

    #[test]
    fn latency_statistics_use_the_nearest_rank() {
        let times: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        let stats = LatencyStats::of(&times).unwrap();
        assert_eq!(stats.p95, Duration::from_millis(19));
        assert_eq!(stats.max, Duration::from_millis(20));
        assert_eq!(stats.avg, Duration::from_micros(10_500));
    }
}
