//! `kind = "http"`: a request (method, URL, headers, body, proxy) and what its answer must be
//! (status, redirect target, headers, body, latency). Also the URL, header and proxy rules that
//! `websocket` and `endpoint` share.

use super::context::{Base, FileContext};
use super::error::SpecError;
use super::plan::{Check, ProbeSpec};
use super::raw::OneOrMany;
use super::request::{
    BodyRule, HeaderRule, HeaderTest, HttpCheck, HttpExpect, Pattern, ProxyChoice, ProxyUrl, Request,
    StatusMatch,
};
use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

/// Most samples one check may take: enough for a stable p95, few enough to stay polite.
const MAX_SAMPLES: i64 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub url: Spanned<String>,
    pub method: Option<Spanned<String>>,
    pub headers: Option<Spanned<BTreeMap<String, String>>>,
    pub body: Option<Spanned<String>>,
    pub proxy: Option<Spanned<String>>,
    pub follow_redirects: Option<bool>,
    pub samples: Option<Spanned<i64>>,
    pub expect: Option<Spanned<RawHttpExpect>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpExpect {
    pub status: Option<Spanned<RawStatus>>,
    pub redirect_to: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<RawHeaderRule>>,
    pub body_contains: Option<Spanned<OneOrMany>>,
    pub body_regex: Option<Spanned<String>>,
    #[serde(default)]
    pub json: BTreeMap<String, Spanned<serde_json::Value>>,
    pub max_ms: Option<Spanned<i64>>,
    pub avg_ms: Option<Spanned<i64>>,
    pub p95_ms: Option<Spanned<i64>>,
}

/// `200`, `"2xx"`, or a list of both.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a status (200), a class (\"2xx\"), or a list of them")]
pub enum RawStatus {
    One(StatusItem),
    Many(Vec<StatusItem>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusItem {
    Code(i64),
    Text(String),
}

/// `"exact value"`, or a table of tests.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a value the header must equal, or a table with present, equals, regex or max_age_at_least"
)]
pub enum RawHeaderRule {
    Equals(String),
    Tests(RawHeaderTests),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeaderTests {
    pub present: Option<bool>,
    pub equals: Option<String>,
    pub regex: Option<String>,
    pub max_age_at_least: Option<i64>,
}

impl FileContext<'_> {
    pub(super) fn http(&self, raw: RawHttp, base: &Base<'_>, errors: &mut Vec<SpecError>) -> Vec<Check> {
        let url = self.url(&raw.url, &["http", "https"], errors);
        let method = match &raw.method {
            None => Some(http::Method::GET),
            Some(written) => {
                let upper = written.get_ref().to_ascii_uppercase();
                http::Method::from_bytes(upper.as_bytes())
                    .map_err(|_| {
                        errors.push(self.locator.error(
                            written.span(),
                            format!("`{}` is not an HTTP method", written.get_ref()),
                        ));
                    })
                    .ok()
            }
        };
        let headers = self.request_headers(raw.headers.as_ref(), errors);
        let body = raw.body.as_ref().and_then(|b| self.text(b, errors));
        let proxy = self.proxy(raw.proxy.as_ref(), errors);
        let samples = match &raw.samples {
            None => Some(1),
            Some(n) if (1..=MAX_SAMPLES).contains(n.get_ref()) => u32::try_from(*n.get_ref()).ok(),
            Some(n) => {
                errors.push(self.locator.error(
                    n.span(),
                    format!("samples = {} is out of range: 1 to {MAX_SAMPLES}", n.get_ref()),
                ));
                None
            }
        };
        let follow_redirects = raw.follow_redirects.unwrap_or(false);
        let expect = match &raw.expect {
            Some(expect) => self.http_expect(expect.get_ref(), errors),
            None => Some(HttpExpect::default()),
        };
        let (Some(url), Some(method), Some(headers), Some(proxy), Some(samples), Some(expect)) =
            (url, method, headers, proxy, samples, expect)
        else {
            return Vec::new();
        };
        let body = match (body, &raw.body) {
            (None, Some(_)) => return Vec::new(),
            (body, _) => body,
        };
        let local_id = self.local_id(base.common, || format!("http-{}", raw.url.get_ref()));
        let check = HttpCheck {
            request: Request {
                method,
                url,
                headers,
                body,
                proxy,
            },
            follow_redirects,
            samples,
            expect,
        };
        let name = format!("{} {}", check.request.method, check.request.url);
        vec![self.build(base, &local_id, None, name, ProbeSpec::Http(Box::new(check)))]
    }

    fn http_expect(&self, raw: &RawHttpExpect, errors: &mut Vec<SpecError>) -> Option<HttpExpect> {
        let before = errors.len();
        let mut expect = HttpExpect::default();
        if let Some(status) = &raw.status {
            let items = match status.get_ref() {
                RawStatus::One(item) => vec![item.clone()],
                RawStatus::Many(items) => items.clone(),
            };
            if items.is_empty() {
                errors.push(self.locator.error(status.span(), "the status list is empty"));
            }
            for item in items {
                let parsed = match item {
                    StatusItem::Code(code) => StatusMatch::code(code),
                    StatusItem::Text(text) => StatusMatch::parse(&text),
                };
                match parsed {
                    Ok(m) => expect.status.push(m),
                    Err(e) => errors.push(self.locator.error(status.span(), e)),
                }
            }
        }
        if let Some(target) = &raw.redirect_to {
            expect.redirect_to = self.url(target, &["http", "https"], errors);
        }
        for (name, rule) in &raw.headers {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                errors.push(
                    self.locator
                        .error(rule.span(), format!("`{name}` is not a valid header name")),
                );
                continue;
            }
            let name = name.to_ascii_lowercase();
            let mut push = |test| {
                expect.headers.push(HeaderRule {
                    name: name.clone(),
                    test,
                })
            };
            match rule.get_ref() {
                RawHeaderRule::Equals(value) => match self.scope.substitute(value) {
                    Ok(value) => push(HeaderTest::Equals(value)),
                    Err(e) => errors.push(self.locator.error(rule.span(), e)),
                },
                RawHeaderRule::Tests(tests) => {
                    let mut any = false;
                    if let Some(present) = tests.present {
                        any = true;
                        push(if present {
                            HeaderTest::Present
                        } else {
                            HeaderTest::Absent
                        });
                    }
                    if let Some(value) = &tests.equals {
                        any = true;
                        match self.scope.substitute(value) {
                            Ok(value) => push(HeaderTest::Equals(value)),
                            Err(e) => errors.push(self.locator.error(rule.span(), e)),
                        }
                    }
                    if let Some(pattern) = &tests.regex {
                        any = true;
                        match regex_lite::Regex::new(pattern) {
                            Ok(re) => push(HeaderTest::Matches(Pattern(re))),
                            Err(e) => errors.push(
                                self.locator
                                    .error(rule.span(), format!("`{pattern}` is not a valid regex: {e}")),
                            ),
                        }
                    }
                    if let Some(age) = tests.max_age_at_least {
                        any = true;
                        match u64::try_from(age) {
                            Ok(age) => push(HeaderTest::MaxAgeAtLeast(age)),
                            Err(_) => errors.push(self.locator.error(
                                rule.span(),
                                format!("max_age_at_least = {age} must not be negative"),
                            )),
                        }
                    }
                    let tests_value =
                        tests.equals.is_some() || tests.regex.is_some() || tests.max_age_at_least.is_some();
                    if tests.present == Some(false) && tests_value {
                        errors.push(self.locator.error(
                            rule.span(),
                            "present = false cannot be combined with tests on the header's value",
                        ));
                    }
                    if !any {
                        errors.push(self.locator.error(
                            rule.span(),
                            "an empty header rule tests nothing: use present, equals, regex or max_age_at_least",
                        ));
                    }
                }
            }
        }
        if let Some(contains) = &raw.body_contains {
            for text in contains.get_ref().to_vec() {
                match self.scope.substitute(&text) {
                    Ok(text) => expect.body.push(BodyRule::Contains(text)),
                    Err(e) => errors.push(self.locator.error(contains.span(), e)),
                }
            }
        }
        if let Some(pattern) = &raw.body_regex {
            match regex_lite::Regex::new(pattern.get_ref()) {
                Ok(re) => expect.body.push(BodyRule::Matches(Pattern(re))),
                Err(e) => errors.push(self.locator.error(
                    pattern.span(),
                    format!("`{}` is not a valid regex: {e}", pattern.get_ref()),
                )),
            }
        }
        for (pointer, value) in &raw.json {
            if !(pointer.is_empty() || pointer.starts_with('/')) {
                errors.push(self.locator.error(
                    value.span(),
                    format!("`{pointer}` is not a JSON pointer: it starts with `/` (e.g. \"/status\")"),
                ));
                continue;
            }
            expect.body.push(BodyRule::JsonEquals {
                pointer: pointer.clone(),
                value: value.get_ref().clone(),
            });
        }
        expect.max = self.millis(raw.max_ms.as_ref(), errors);
        expect.avg = self.millis(raw.avg_ms.as_ref(), errors);
        expect.p95 = self.millis(raw.p95_ms.as_ref(), errors);
        (errors.len() == before).then_some(expect)
    }

    fn millis(&self, value: Option<&Spanned<i64>>, errors: &mut Vec<SpecError>) -> Option<Duration> {
        let value = value?;
        match u64::try_from(*value.get_ref()) {
            Ok(ms) if ms > 0 => Some(Duration::from_millis(ms)),
            _ => {
                errors.push(self.locator.error(
                    value.span(),
                    format!(
                        "{} ms is not a latency budget: write a positive number",
                        value.get_ref()
                    ),
                ));
                None
            }
        }
    }

    /// A URL after substitution, with one of the allowed schemes and a host.
    pub(super) fn url(
        &self,
        written: &Spanned<String>,
        schemes: &[&str],
        errors: &mut Vec<SpecError>,
    ) -> Option<Url> {
        let parse = || -> Result<Url, String> {
            let text = self.scope.substitute(written.get_ref())?;
            let url = Url::parse(&text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
            if !schemes.contains(&url.scheme()) {
                return Err(format!(
                    "`{text}`: the scheme must be {}",
                    schemes
                        .iter()
                        .map(|s| format!("{s}://"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ));
            }
            let host = url.host_str().ok_or_else(|| format!("`{text}` names no host"))?;
            super::host::Host::parse(host)?;
            if url.port() == Some(0) {
                return Err(format!("`{text}`: port 0 is out of range: ports are 1 to 65535"));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(format!(
                    "`{}`: put credentials in a header, not in the URL (reports show URLs)",
                    super::request::redact_userinfo(&text)
                ));
            }
            Ok(url)
        };
        parse()
            .map_err(|e| errors.push(self.locator.error(written.span(), e)))
            .ok()
    }

    /// Request headers: valid names and values after substitution, names lowercased.
    pub(super) fn request_headers(
        &self,
        written: Option<&Spanned<BTreeMap<String, String>>>,
        errors: &mut Vec<SpecError>,
    ) -> Option<Vec<(String, String)>> {
        let Some(written) = written else {
            return Some(Vec::new());
        };
        let before = errors.len();
        let mut headers = Vec::new();
        for (name, value) in written.get_ref() {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                errors.push(
                    self.locator
                        .error(written.span(), format!("`{name}` is not a valid header name")),
                );
                continue;
            }
            match self.scope.substitute(value) {
                Ok(value) if http::HeaderValue::from_str(&value).is_ok() => {
                    headers.push((name.to_ascii_lowercase(), value));
                }
                Ok(_) => errors.push(self.locator.error(
                    written.span(),
                    format!("the value of header `{name}` has characters a header cannot carry"),
                )),
                Err(e) => errors.push(self.locator.error(written.span(), e)),
            }
        }
        (errors.len() == before).then_some(headers)
    }

    /// `proxy = "none"` or `"http://host:port"`; absent means the environment decides.
    pub(super) fn proxy(
        &self,
        written: Option<&Spanned<String>>,
        errors: &mut Vec<SpecError>,
    ) -> Option<ProxyChoice> {
        let Some(written) = written else {
            return Some(ProxyChoice::FromEnvironment);
        };
        let parse = || -> Result<ProxyChoice, String> {
            let text = self.scope.substitute(written.get_ref())?;
            if text == "none" {
                return Ok(ProxyChoice::Direct);
            }
            ProxyUrl::parse(&text).map(ProxyChoice::Url)
        };
        parse()
            .map_err(|e| errors.push(self.locator.error(written.span(), e)))
            .ok()
    }
}
