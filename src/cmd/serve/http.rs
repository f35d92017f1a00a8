//! The exporter's HTTP side: the accept loop, and the answers of `/probe`, `/metrics`,
//! `/report/PROFILE.json`, `/-/healthy` and `/-/ready`. Served with hyper (HTTP/1.1, and h2 with
//! prior knowledge) on any stream the accept loop hands over; with `--web.config.file`, over
//! TLS when the file says so, behind basic auth when it lists users, and HTTP/1.1 only when it
//! turns HTTP/2 off.

use super::allow::AllowList;
use super::exposition::{self, CONTENT_TYPE};
use super::limits::ProbeLimits;
use super::modules::LoadSettings;
use super::runner::{self, Runner};
use super::state::State;
use super::web_config::{WebConfig, WWW_AUTHENTICATE};
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

/// The header in which Prometheus sends its scrape timeout.
pub const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

/// Everything a request may need.
pub struct App {
    pub state: Arc<State>,
    pub runner: Arc<Runner>,
    pub settings: LoadSettings,
    pub allow: AllowList,
    pub limits: Arc<ProbeLimits>,
    /// Taken off Prometheus' scrape timeout, so that the answer arrives before it gives up.
    pub timeout_offset: Duration,
    /// The web configuration in force (`--web.config.file`), replaced by a good reload; `None`
    /// without the flag: plain HTTP, no authentication.
    pub web: Option<RwLock<Arc<WebConfig>>>,
}

impl App {
    /// The web configuration in force now: a connection keeps the one it was accepted under
    /// for its TLS handshake, a request is authorized under the one in force when it arrives.
    pub fn web(&self) -> Option<Arc<WebConfig>> {
        self.web
            .as_ref()
            .map(|web| Arc::clone(&web.read().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Puts a freshly loaded web configuration in force (SIGHUP).
    pub fn replace_web(&self, config: WebConfig) {
        if let Some(web) = &self.web {
            *web.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
        }
    }
}

/// How long a client may take over its TLS handshake before its connection is dropped: a
/// connection that never finishes one must not be held open for ever.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Answer = Response<Full<Bytes>>;

/// Accepts connections until `stop` completes, then lets the connections in flight finish
/// their requests for at most `grace`. Returns whether they all did.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    stop: impl Future<Output = ()>,
    grace: Duration,
) -> bool {
    let graceful = GracefulShutdown::new();
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors or a connection reset before it was accepted: the
                // listener itself is fine; try again shortly rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let web = app.web();
        let builder = match &web {
            // The toolkit's `http2: false`: no HTTP/2 at all (ALPN offers only http/1.1 then).
            Some(web) if !web.http2() => builder.clone().http1_only(),
            _ => builder.clone(),
        };
        match web.and_then(|web| web.tls_acceptor()) {
            None => spawn_connection(&builder, graceful.watcher(), stream, peer, Arc::clone(&app)),
            Some(acceptor) => {
                // The handshake runs in the connection's own task, so that a slow or silent
                // client never holds up the accept loop.
                let watcher = graceful.watcher();
                let app = Arc::clone(&app);
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                    // A failed handshake (no client certificate, a client that does not trust
                    // the server, a port scanner) is the client's problem: the connection ends.
                    if let Ok(Ok(tls)) = handshake.await {
                        spawn_connection(&builder, watcher, tls, peer, app);
                    }
                });
            }
        }
    }
    drop(listener);
    tokio::time::timeout(grace, graceful.shutdown()).await.is_ok()
}

/// Serves one connection, over any byte stream (plain TCP, or TLS under a web configuration),
/// watched so that a shutdown lets its request in flight finish.
fn spawn_connection<S>(
    builder: &hyper_util::server::conn::auto::Builder<TokioExecutor>,
    watcher: Watcher,
    stream: S,
    peer: SocketAddr,
    app: Arc<App>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(handle(&app, peer, request).await) }
    });
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .into_owned();
    tokio::spawn(async move {
        let _ = watcher.watch(connection).await;
    });
}

/// Answers one request under the web configuration in force: its headers on every answer, and
/// its basic auth before anything else, so that it covers every endpoint (`/-/healthy` too, as
/// in the toolkit).
async fn handle(app: &App, peer: SocketAddr, request: Request<Incoming>) -> Answer {
    let Some(web) = app.web() else {
        return route(app, peer, request).await;
    };
    let mut answer = if authorized(&web, &request).await {
        route(app, peer, request).await
    } else {
        let mut answer = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
        answer.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static(WWW_AUTHENTICATE),
        );
        answer
    };
    for (name, value) in web.headers() {
        answer.headers_mut().insert(name.clone(), value.clone());
    }
    answer
}

/// Whether the request's credentials satisfy the web configuration. The first check of a
/// password runs bcrypt (milliseconds of CPU, by design), so it runs off the async workers.
async fn authorized(web: &Arc<WebConfig>, request: &Request<Incoming>) -> bool {
    let credentials = request.headers().get(header::AUTHORIZATION).cloned();
    // A scraper's known credentials are answered from the cache, without a blocking-pool hop.
    if let Some(answer) = web.authorize_cached(credentials.as_ref()) {
        return answer;
    }
    let web = Arc::clone(web);
    tokio::task::spawn_blocking(move || web.authorize(credentials.as_ref()))
        .await
        .unwrap_or(false)
}

/// Routes an admitted request to its endpoint.
async fn route(app: &App, peer: SocketAddr, request: Request<Incoming>) -> Answer {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut answer = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are served\n");
        answer
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return answer;
    }
    let path = request.uri().path().to_owned();
    match path.as_str() {
        "/probe" => {
            let query = request.uri().query().unwrap_or("").to_owned();
            let timeout = request.headers().get(SCRAPE_TIMEOUT_HEADER).cloned();
            drop(request);
            probe(app, peer, &query, timeout.as_ref()).await
        }
        "/metrics" => exposition_answer(exposition::metrics(&app.state)),
        "/-/healthy" => text(StatusCode::OK, "reach serve is healthy\n"),
        "/-/ready" if app.state.is_stopping() => {
            text(StatusCode::SERVICE_UNAVAILABLE, "reach serve is stopping\n")
        }
        "/-/ready" => text(StatusCode::OK, "reach serve is ready\n"),
        "/" => text(StatusCode::OK, &index(app)),
        _ => match path
            .strip_prefix("/report/")
            .and_then(|p| p.strip_suffix(".json"))
        {
            Some(profile) => report(app, profile),
            None => text(
                StatusCode::NOT_FOUND,
                &format!("no such page: {path}\n{}", index(app)),
            ),
        },
    }
}

fn index(app: &App) -> String {
    let modules = app.state.modules();
    format!(
        "reach serve\n\n\
         GET /probe?module=PROFILE&target=HOST[&var.NAME=VALUE...][&tag=TAG...]\n\
         GET /metrics\n\
         GET /report/PROFILE.json\n\
         GET /-/healthy\n\
         GET /-/ready\n\n\
         modules: {}\n",
        modules.names()
    )
}

fn report(app: &App, profile: &str) -> Answer {
    match app.state.latest_of(profile) {
        Some(latest) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(latest.json.as_bytes().to_vec())))
            .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "cannot build the answer\n")),
        None => {
            let modules = app.state.modules();
            let why = match modules.get(profile) {
                Some(module) if module.scheduled.is_some() => {
                    format!("no scheduled run of `{profile}` has finished yet")
                }
                Some(_) => format!("`{profile}` is not scheduled (it needs values from a /probe request, or --every is not set)"),
                None => format!("no module `{profile}`: the loaded modules are {}", modules.names()),
            };
            text(StatusCode::NOT_FOUND, &format!("{why}\n"))
        }
    }
}

/// What a `/probe` asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct ProbeRequest {
    module: String,
    target: String,
    vars: BTreeMap<String, String>,
    tags: Vec<String>,
}

/// Reads the query of a `/probe`; a mistake is the reason of a 400.
fn parse_query(query: &str) -> Result<ProbeRequest, String> {
    let mut module = None;
    let mut target = None;
    let mut request = ProbeRequest::default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        let once = |slot: &mut Option<String>, name: &str| -> Result<(), String> {
            if slot.replace(value.clone()).is_some() {
                return Err(format!("parameter `{name}` is given twice"));
            }
            Ok(())
        };
        match key.as_ref() {
            "module" => once(&mut module, "module")?,
            "target" => once(&mut target, "target")?,
            "tag" => request.tags.push(value),
            other => match other.strip_prefix("var.") {
                Some("host") => {
                    return Err("the variable `host` is set by `target`, not by `var.host`".to_owned())
                }
                Some(name) if crate::spec::vars::is_var_name(name) => {
                    if request.vars.insert(name.to_owned(), value).is_some() {
                        return Err(format!("parameter `var.{name}` is given twice"));
                    }
                }
                _ => {
                    return Err(format!(
                        "unknown parameter `{other}`: /probe takes module, target, var.NAME and tag"
                    ))
                }
            },
        }
    }
    request.module = module
        .filter(|m| !m.is_empty())
        .ok_or("missing parameter `module` (the profile to run)")?;
    request.target = target
        .filter(|t| !t.is_empty())
        .ok_or("missing parameter `target` (the value of the module's `host` variable)")?;
    Ok(request)
}

/// The deadline of a probe: Prometheus' scrape timeout less the offset (never less than a
/// tenth of the timeout), or none when the header is absent.
fn deadline(header: Option<&header::HeaderValue>, offset: Duration) -> Result<Option<Duration>, String> {
    let Some(value) = header else { return Ok(None) };
    let seconds = value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| {
            format!(
                "header X-Prometheus-Scrape-Timeout-Seconds: `{}` is not a number of seconds",
                String::from_utf8_lossy(value.as_bytes())
            )
        })?;
    let timeout = Duration::from_secs_f64(seconds.min(86_400.0));
    Ok(Some(timeout.saturating_sub(offset).max(timeout / 10)))
}

async fn probe(app: &App, peer: SocketAddr, query: &str, timeout: Option<&header::HeaderValue>) -> Answer {
    let started = Instant::now();
    let asked = match parse_query(query) {
        Ok(asked) => asked,
        Err(reason) => return bad_request(&reason),
    };
    let deadline = match deadline(timeout, app.timeout_offset) {
        Ok(deadline) => deadline,
        Err(reason) => return bad_request(&reason),
    };
    let target_host = super::allow::host_in(&asked.target).unwrap_or_else(|| asked.target.clone());
    if !app.allow.permits(&target_host) {
        return bad_request(&format!(
            "target `{}` is not allowed: --allow-target permits {}",
            asked.target,
            app.allow.describe()
        ));
    }
    // A variable can name a host to probe as well as the target can.
    let named = asked.vars.iter().find_map(|(name, value)| {
        Some((name, super::allow::host_in(value)?)).filter(|(_, host)| !app.allow.permits(host))
    });
    if let Some((name, host)) = named {
        return bad_request(&format!(
            "var.{name} names `{host}`, which is not allowed: --allow-target permits {}; a request's \
             values that name hosts must match it as the target must",
            app.allow.describe()
        ));
    }
    let modules = app.state.modules();
    let Some(module) = modules.get(&asked.module) else {
        return bad_request(&format!(
            "unknown module `{}`: the loaded modules (profiles) are {}",
            asked.module,
            modules.names()
        ));
    };
    let mut values = asked.vars.clone();
    values.insert("host".to_owned(), asked.target.clone());
    let plan = match module.plan_for(&app.settings, &values) {
        Ok(plan) => plan,
        Err(bad) => return bad_request(&bad.0),
    };
    if let Some(tag) = asked
        .tags
        .iter()
        .find(|t| !plan.checks.iter().any(|c| c.tags.contains(t)))
    {
        return bad_request(&format!(
            "no check of module `{}` is tagged `{tag}`",
            asked.module
        ));
    }
    let options = app.runner.options(asked.tags.clone(), deadline);
    if plan
        .checks
        .iter()
        .all(|c| crate::run::filter(c, &options).is_some())
    {
        let vantage = app.runner.vantage().unwrap_or("(none)");
        return bad_request(&format!(
            "no check of module `{}` is selected by these tags and the exporter's --vantage {vantage}",
            asked.module
        ));
    }
    let _slot = match app.limits.admit(peer.ip()) {
        Ok(slot) => slot,
        Err(refusal) => {
            let status = match refusal {
                super::limits::Refusal::Client { .. } => StatusCode::TOO_MANY_REQUESTS,
                super::limits::Refusal::Server { .. } => StatusCode::SERVICE_UNAVAILABLE,
            };
            return text(status, &format!("{}\n", refusal.reason(peer.ip())));
        }
    };
    let report = app.runner.run(plan, &options).await;
    let succeeded = runner::succeeded(&report);
    exposition_answer(exposition::probe(&report, succeeded, started.elapsed()))
}

fn exposition_answer(body: String) -> Answer {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "cannot build the answer\n"))
}

fn bad_request(reason: &str) -> Answer {
    text(StatusCode::BAD_REQUEST, &format!("{reason}\n"))
}

fn text(status: StatusCode, body: &str) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body.to_owned())));
    *answer.status_mut() = status;
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_query_names_module_target_variables_and_tags() {
        let asked = parse_query("module=shop&target=a.test&var.port=8443&tag=tls&tag=core").unwrap();
        assert_eq!(asked.module, "shop");
        assert_eq!(asked.target, "a.test");
        assert_eq!(asked.vars.get("port").map(String::as_str), Some("8443"));
        assert_eq!(asked.tags, ["tls", "core"]);
        assert!(parse_query("target=a.test").unwrap_err().contains("module"));
        assert!(parse_query("module=shop").unwrap_err().contains("target"));
        assert!(parse_query("module=a&module=b&target=x")
            .unwrap_err()
            .contains("twice"));
        assert!(parse_query("module=a&target=x&debug=1")
            .unwrap_err()
            .contains("unknown parameter"));
        assert!(parse_query("module=a&target=x&var.host=y")
            .unwrap_err()
            .contains("target"));
    }

    #[test]
    fn the_scrape_timeout_less_the_offset_bounds_a_probe() {
        let offset = Duration::from_millis(500);
        let header = |text: &str| header::HeaderValue::from_str(text).unwrap();
        assert_eq!(deadline(None, offset), Ok(None));
        assert_eq!(
            deadline(Some(&header("10")), offset),
            Ok(Some(Duration::from_millis(9500)))
        );
        assert_eq!(
            deadline(Some(&header("0.4")), offset),
            Ok(Some(Duration::from_millis(40)))
        );
        assert!(deadline(Some(&header("soon")), offset).is_err());
        assert!(deadline(Some(&header("-1")), offset).is_err());
    }
}
