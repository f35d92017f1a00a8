//! `http` checks: send the request (following redirects when asked, `samples` times, to one
//! address of the name or to each), then judge the answer against the expectations: status,
//! redirect, version, headers, body, latency.

use super::clock::{now, Checkpoints};
use super::connection;
use super::exchange::{self, Exchange, Outgoing};
use super::origin::Origin;
use super::redirect;
use super::rules::{self, Problem};
use super::stage::StageError;
use crate::classify;
use crate::outcome::{
    AddressExchange, ErrorClass, Finding, HttpObservation, LatencyStats, Observed, RedirectHop, Stage,
    Status, Verdict,
};
use crate::probe::attempt::Attempt;
use crate::probe::context::Ctx;
use crate::probe::watch::{self, Cut};
use crate::spec::request::{Addresses, HttpCheck, ProxyScheme, MAX_REDIRECTS};
use crate::text::ms;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// One attempt: to the first address that connects or, with `addresses = "all"`, to each
/// address, `samples` requests one after the other, all of them within `timeout` (the time spent
/// waiting for a connection slot to the origin does not count). When the time runs out, or the
/// run's deadline passes, before the last sample, the samples made so far are judged: a fail
/// they show stands; otherwise the check is an error `timeout`, since not every sample asked for
/// was made.
pub async fn attempt(ctx: &Ctx, check: &HttpCheck, timeout: Duration) -> Attempt {
    match check.addresses {
        Addresses::Any => one(ctx, check, timeout, None).await,
        Addresses::All => every_address(ctx, check, timeout).await,
    }
}

async fn one(ctx: &Ctx, check: &HttpCheck, timeout: Duration, pin: Option<IpAddr>) -> Attempt {
    let started = std::time::Instant::now();
    let left = || watch::left(timeout).unwrap_or_else(|| timeout.saturating_sub(started.elapsed()));
    let series = Arc::new(Mutex::new(Series {
        timeout,
        first: None,
        off: None,
        times: Vec::with_capacity(check.samples as usize),
    }));
    // With `addresses = "all"` each address is one of several concurrent series: only a
    // single series can stand for the whole attempt when the runner cuts it off.
    if pin.is_none() {
        let (series, check) = (Arc::clone(&series), check.clone());
        watch::publish(move |cut| lock(&series).verdict(&check, Some(cut)));
    }
    let statuses = check.expect.statuses(check.follow_redirects);
    for _ in 0..check.samples {
        let budget = left();
        if budget.is_zero() {
            break;
        }
        match follow(ctx, check, budget, pin).await {
            Ok(followed) => {
                let mut series = lock(&series);
                series.times.push(followed.last.response_time);
                if series.first.is_none() {
                    series.first = Some(followed);
                } else if series.off.is_none() && !statuses.iter().any(|s| s.matches(followed.last.status)) {
                    // Every sample must answer as required, not only the first: a 503 on the
                    // third request is a failure even when the first was a 200.
                    series.off = Some(followed);
                }
            }
            // The sample the time ran out on: the ones before it are judged below.
            Err(failed)
                if failed.error.class() == ErrorClass::Timeout
                    && left().is_zero()
                    && !lock(&series).times.is_empty() =>
            {
                break
            }
            Err(failed) => return failed.error.into_attempt(failed.observation),
        }
    }
    let verdict = lock(&series).verdict(check, None);
    verdict
}

fn lock(series: &Mutex<Series>) -> std::sync::MutexGuard<'_, Series> {
    // A panic while holding it would have ended the attempt; the samples stay consistent.
    series.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The samples of one attempt so far.
struct Series {
    /// The check's timeout, for messages.
    timeout: Duration,
    first: Option<Followed>,
    /// The first sample whose status contradicts the requirement.
    off: Option<Followed>,
    times: Vec<Duration>,
}

impl Series {
    /// The attempt these samples make; `cut` says why the runner stopped waiting for more, if
    /// it did.
    fn verdict(&self, check: &HttpCheck, cut: Option<Cut>) -> Attempt {
        let made = self.times.len();
        let wanted = check.samples as usize;
        let why = match cut {
            Some(Cut::Deadline) => "before the run's --deadline passed".to_owned(),
            Some(Cut::Timeout(budget)) => {
                format!(
                    "before the check's {} timeout ran out",
                    crate::text::rounded(budget)
                )
            }
            None => format!(
                "before the check's {} timeout ran out",
                crate::text::rounded(self.timeout)
            ),
        };
        let Some(followed) = self.off.as_ref().or(self.first.as_ref()) else {
            let error = if cut.is_some() {
                StageError::error(
                    Stage::Http,
                    ErrorClass::Timeout,
                    format!("no sample was answered {why}"),
                )
            } else {
                StageError::error(Stage::Http, ErrorClass::Io, "no request was made".to_owned())
            };
            return error.into_attempt(HttpObservation::default());
        };
        let mut attempt = judge(check, followed, &self.times);
        if made >= wanted && cut.is_none() {
            return attempt;
        }
        let finding = &mut attempt.finding;
        if matches!(finding.verdict, Verdict::Fail { .. }) {
            finding.message = format!(
                "{} (in the {made} of {wanted} samples made {why})",
                finding.message
            );
            return attempt;
        }
        finding.verdict = Verdict::Error {
            stage: Stage::Http,
            class: ErrorClass::Timeout,
        };
        finding.message = format!("only {made} of {wanted} samples were made {why}");
        attempt.inconclusive = true;
        attempt
    }
}
/// `addresses = "all"`: the name is resolved once and each address answers on its own; the
/// check passes when every one passes.
async fn every_address(ctx: &Ctx, check: &HttpCheck, timeout: Duration) -> Attempt {
    let url = &check.request.url;
    let observation = || HttpObservation {
        url: url.to_string(),
        ..HttpObservation::default()
    };
    let origin = match Origin::of(url) {
        Ok(origin) => origin,
        Err(e) => {
            return StageError::error(Stage::Http, ErrorClass::Io, e.to_string()).into_attempt(observation())
        }
    };
    if let Some(proxy) = ctx.http.proxies.choose(&check.request.proxy, url) {
        if proxy.scheme != ProxyScheme::Socks5 {
            let message = format!(
                "addresses = \"all\" cannot be checked through the proxy {proxy} from the environment: \
                 it picks the address itself (set proxy = \"none\" or a socks5:// proxy on the check)"
            );
            return StageError::error(Stage::Proxy, ErrorClass::LocalPolicy, message)
                .into_attempt(observation());
        }
    }
    let deadline = Instant::now() + timeout;
    let mut clock = Checkpoints {
        dns_start: now(),
        ..Checkpoints::default()
    };
    let resolved = connection::resolve(ctx, &origin.host, origin.port, deadline, "").await;
    clock.dns_end = now();
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(mut e) => {
            e.timings = clock.timings();
            return e.into_attempt(observation());
        }
    };
    let asked = resolved
        .addresses
        .iter()
        .map(|&ip| async move { (ip, one(ctx, check, timeout, Some(ip)).await) });
    let results = futures_util::future::join_all(asked).await;
    combine(results, origin.port, clock)
}

/// One finding for the addresses of an `addresses = "all"` check: a fail if any address
/// failed, else an error if any could not be checked, else a pass; the evidence is that
/// address's, with every address's result listed beside it.
fn combine(results: Vec<(IpAddr, Attempt)>, port: u16, clock: Checkpoints) -> Attempt {
    let mut entries = Vec::with_capacity(results.len());
    let mut problems = Vec::new();
    let mut counts = [0usize; 3];
    for (ip, attempt) in &results {
        let finding = &attempt.finding;
        let (status, response_time) = match &finding.observed {
            Observed::Http(o) => (o.status, o.response_time),
            _ => (None, None),
        };
        let address = SocketAddr::new(*ip, port);
        match finding.verdict.status() {
            Status::Pass => counts[0] += 1,
            Status::Fail => counts[1] += 1,
            _ => counts[2] += 1,
        }
        if finding.verdict.status() != Status::Pass {
            let why = if finding.message.is_empty() {
                &finding.summary
            } else {
                &finding.message
            };
            problems.push(format!("{address}: {why}"));
        }
        entries.push(AddressExchange {
            address,
            verdict: finding.verdict,
            status,
            message: finding.message.clone(),
            response_time,
        });
    }
    let by_status = |wanted: Status| {
        results
            .iter()
            .position(|(_, a)| a.finding.verdict.status() == wanted)
    };
    let deciding = by_status(Status::Fail)
        .or_else(|| by_status(Status::Error))
        .unwrap_or(0);
    // A verdict that another attempt could change: every address that did not pass may.
    let inconclusive = results
        .iter()
        .filter(|(_, a)| a.finding.verdict.status() != Status::Pass)
        .all(|(_, a)| a.inconclusive)
        && counts[0] < results.len();
    let Some((_, attempt)) = results.into_iter().nth(deciding) else {
        return StageError::error(
            Stage::Dns,
            ErrorClass::NoData,
            "the name resolved to no address".into(),
        )
        .into_attempt(HttpObservation::default());
    };
    let mut finding = attempt.finding;
    let labels = ["pass", "fail", "error"];
    let tally: Vec<String> = counts
        .iter()
        .zip(labels)
        .filter(|(n, _)| **n > 0)
        .map(|(n, label)| format!("{n} {label}"))
        .collect();
    finding.summary = format!("{} addresses: {}", entries.len(), tally.join(", "));
    finding.message = problems.join("; ");
    finding.timings.dns = clock.timings().dns;
    if let Observed::Http(observed) = &mut finding.observed {
        observed.addresses = entries;
    } else {
        finding.observed = Observed::Http(Box::new(HttpObservation {
            addresses: entries,
            ..HttpObservation::default()
        }));
    }
    Attempt {
        finding,
        inconclusive,
    }
}

/// A request and the redirects followed from it.
struct Followed {
    /// The first response's status and resolved `Location`.
    first_status: u16,
    first_location: Option<Url>,
    hops: Vec<RedirectHop>,
    /// The answer that is judged: the last of the chain.
    last: Exchange,
    last_url: Url,
}

struct Failed {
    error: StageError,
    observation: HttpObservation,
}

async fn follow(
    ctx: &Ctx,
    check: &HttpCheck,
    timeout: Duration,
    pin: Option<IpAddr>,
) -> Result<Followed, Failed> {
    let request = &check.request;
    let checked = &request.url;
    let mut url = request.url.clone();
    let mut method = request.method.clone();
    let mut body = request.body.as_deref();
    let mut hops: Vec<RedirectHop> = Vec::new();
    let mut first: Option<(u16, Option<Url>)> = None;
    loop {
        let headers = redirect::headers_for(checked, &url, &request.headers);
        let out = Outgoing {
            method: &method,
            url: &url,
            version: request.version,
            headers: &headers,
            secret: None,
            body,
            proxy: &request.proxy,
            // The pinned address is one of the checked name's; another host resolves its own.
            pin: pin.filter(|_| url.host_str() == checked.host_str()),
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
        let (first_status, first_location) = first
            .get_or_insert_with(|| (exchange.status, location.clone()))
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
            error.timings = exchange.timings;
            return Err(Failed {
                observation: observation(&exchange, &url, hops, None),
                error,
            });
        }
        if let Some(get) = redirect::method_after(exchange.status, &method) {
            method = get;
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
        body_truncated: exchange.body_truncated,
        echoed: None,
        addresses: Vec::new(),
    }
}

fn judge(check: &HttpCheck, followed: &Followed, times: &[Duration]) -> Attempt {
    let expect = &check.expect;
    let last = &followed.last;
    let mut failures: Vec<String> = Vec::new();
    let mut unjudged: Vec<String> = Vec::new();
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
    if let Some(problem) = redirect_problem(check, followed) {
        failures.push(problem);
        stage = Stage::Http;
    }
    if let Some(wanted) = expect.http_version {
        if last.version != wanted.label() {
            failures.push(format!(
                "answered over {} (expected {})",
                last.version,
                wanted.label()
            ));
            stage = Stage::Http;
        }
    }
    for rule in &expect.headers {
        if let Some(problem) = rules::header_problem(rule, &last.headers) {
            failures.push(problem);
        }
    }
    for rule in &expect.body {
        match rules::body_problem(rule, &last.body, last.body_truncated, last.body_bytes) {
            None => {}
            Some(Problem::Violated(problem)) => failures.push(problem),
            Some(Problem::Unjudged(problem)) => unjudged.push(problem),
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
    // A contradiction stands even beside a rule that could not be judged; a cut body alone
    // is neither a pass nor a fail.
    let verdict = if !failures.is_empty() {
        Verdict::Fail { stage, class }
    } else if !unjudged.is_empty() {
        Verdict::Error {
            stage: Stage::Assert,
            class: ErrorClass::BodyTruncated,
        }
    } else {
        Verdict::Pass { stage: Stage::Http }
    };
    failures.extend(unjudged);
    Attempt {
        finding: Finding::new(verdict, summary)
            .message(failures.join("; "))
            .observed(Observed::Http(Box::new(observed)))
            // The judged request's own stages: a reused connection has no dns, tcp or tls.
            .timings(last.timings),
        // A 5xx may pass on its own (a restart, a deploy); another attempt is worth it.
        inconclusive: class == Some(ErrorClass::Http5xx) && verdict.status() == Status::Fail,
    }
}

/// What is wrong with the first answer's redirect, under the rules about it.
fn redirect_problem(check: &HttpCheck, followed: &Followed) -> Option<String> {
    let expect = &check.expect;
    if !expect.wants_redirect() {
        return None;
    }
    let wanted = match (&expect.redirect_to, &expect.redirect_scheme) {
        (Some(target), _) => target.to_string(),
        (None, Some(scheme)) => format!("an {scheme}:// URL"),
        (None, None) => "the same path".to_owned(),
    };
    let Some(location) = &followed.first_location else {
        return Some(format!(
            "answered {} without a redirect (expected one to {wanted})",
            followed.first_status
        ));
    };
    let mut problems = Vec::new();
    if let Some(target) = &expect.redirect_to {
        if location != target {
            problems.push(format!("redirects to {location} (expected {target})"));
        }
    } else if let Some(scheme) = &expect.redirect_scheme {
        if location.scheme() != scheme {
            problems.push(format!("redirects to {location} (expected an {scheme}:// URL)"));
        }
    }
    let path = |u: &Url| u[url::Position::BeforePath..url::Position::AfterQuery].to_owned();
    if expect.redirect_keeps_path && path(location) != path(&check.request.url) {
        problems.push(format!(
            "redirects to {location}, which drops the path {} (expected it kept)",
            path(&check.request.url)
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
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
    if followed.last.version == "HTTP/2" {
        summary.push_str(" over HTTP/2");
    }
    if followed.last.info.proxy.is_some() {
        summary.push_str(" via proxy");
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_statistics_use_the_nearest_rank() {
        let times: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        let stats = LatencyStats::of(&times).unwrap();
        assert_eq!(stats.p95, Duration::from_millis(19));
        assert_eq!(stats.max, Duration::from_millis(20));
        assert_eq!(stats.avg, Duration::from_micros(10_500));
    }
}
