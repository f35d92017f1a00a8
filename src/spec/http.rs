//! `kind = "http"`: a request (method, URL, headers, body, proxy) and what its answer must be
//! (status, redirect target, headers, body, latency). Also the URL, header and proxy rules that
//! `websocket` and `endpoint` share.

use super::context::{Base, FileContext, Part};
use super::error::{Cause, SpecError};
use super::plan::{Check, ProbeSpec};
use super::raw::OneOrMany;
use super::request::{
    Addresses, BodyRule, HeaderRule, HeaderTest, HttpCheck, HttpExpect, HttpVersion, Pattern, ProxyChoice,
    ProxyScheme, ProxyUrl, Request, StatusMatch,
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
    pub url: Option<Spanned<String>>,
    /// Several URLs, one check each, all with the same request and expectations.
    pub urls: Option<Spanned<Vec<Spanned<String>>>>,
    pub method: Option<Spanned<String>>,
    pub headers: Option<Spanned<BTreeMap<String, String>>>,
    pub body: Option<Spanned<String>>,
    pub proxy: Option<Spanned<String>>,
    pub follow_redirects: Option<bool>,
    pub samples: Option<Spanned<i64>>,
    pub http_version: Option<Spanned<String>>,
    pub addresses: Option<Spanned<String>>,
    pub expect: Option<Spanned<RawHttpExpect>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of expectations (status, headers, body, latency...)"
)]
pub struct RawHttpExpect {
    pub status: Option<Spanned<RawStatus>>,
    pub redirect_to: Option<Spanned<String>>,
    pub redirect_scheme: Option<Spanned<String>>,
    pub redirect_keeps_path: Option<bool>,
    pub http_version: Option<Spanned<String>>,
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
        let urls = self.http_urls(&raw, base, errors);
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
        let version = self.http_version(raw.http_version.as_ref(), true, errors);
        let addresses = match &raw.addresses {
            None => Some(Addresses::Any),
            Some(written) => {
                let parsed = Addresses::parse(written.get_ref());
                if parsed.is_none() {
                    errors.push(self.locator.error(
                        written.span(),
                        format!("addresses = \"{}\": write \"any\" or \"all\"", written.get_ref()),
                    ));
                }
                parsed
            }
        };
        if let (Some(Addresses::All), Some(ProxyChoice::Url(proxy)), Some(written)) =
            (addresses, &proxy, &raw.addresses)
        {
            if proxy.scheme != ProxyScheme::Socks5 {
                errors.push(self.locator.error(
                    written.span(),
                    format!(
                        "addresses = \"all\" cannot go through {}: that proxy picks the address itself \
                         (use a socks5:// proxy, or none)",
                        proxy.scheme.as_str()
                    ),
                ));
            }
        }
        let follow_redirects = raw.follow_redirects.unwrap_or(false);
        let expect = match &raw.expect {
            Some(expect) => self.http_expect(expect.get_ref(), errors),
            None => Some(HttpExpect::default()),
        };
        if let (Some(HttpVersion::Http1 | HttpVersion::Http2), Some(expect), Some(raw_expect)) =
            (version, &expect, &raw.expect)
        {
            if expect.http_version.is_some_and(|wanted| Some(wanted) != version) {
                errors.push(self.locator.error(
                    raw_expect.span(),
                    "expect.http_version contradicts http_version: the request cannot use that version",
                ));
            }
        }
        let (
            Some(urls),
            Some(method),
            Some(headers),
            Some(proxy),
            Some(samples),
            Some(version),
            Some(addresses),
            Some(expect),
        ) = (urls, method, headers, proxy, samples, version, addresses, expect)
        else {
            return Vec::new();
        };
        let body = match (body, &raw.body) {
            (None, Some(_)) => return Vec::new(),
            (body, _) => body,
        };
        let written_first = raw
            .url
            .as_ref()
            .or_else(|| raw.urls.as_ref().and_then(|u| u.get_ref().first()))
            .map(|u| u.get_ref().clone())
            .unwrap_or_default();
        let local_id = self.local_id(base.common, || format!("http-{written_first}"));
        let several = urls.len() > 1;
        urls.into_iter()
            .enumerate()
            .map(|(index, url)| {
                let part = several.then(|| Part {
                    id: (index + 1).to_string(),
                    label: url.to_string(),
                });
                let check = HttpCheck {
                    request: Request {
                        method: method.clone(),
                        url,
                        version,
                        headers: headers.clone(),
                        body: body.clone(),
                        proxy: proxy.clone(),
                    },
                    follow_redirects,
                    samples,
                    addresses,
                    expect: expect.clone(),
                };
                let name = format!("{} {}", check.request.method, check.request.url);
                self.build(base, &local_id, part, name, ProbeSpec::Http(Box::new(check)))
            })
            .collect()
    }

    /// `url`, or each of `urls` (one check per URL); exactly one of the two.
    fn http_urls(&self, raw: &RawHttp, base: &Base<'_>, errors: &mut Vec<SpecError>) -> Option<Vec<Url>> {
        const SCHEMES: &[&str] = &["http", "https"];
        match (&raw.url, &raw.urls) {
            (Some(url), None) => self.url(url, SCHEMES, errors).map(|u| vec![u]),
            (None, Some(list)) => {
                if list.get_ref().is_empty() {
                    errors.push(self.locator.error(list.span(), "the URL list is empty"));
                    return None;
                }
                let before = errors.len();
                let mut urls: Vec<Url> = Vec::new();
                for written in list.get_ref() {
                    if let Some(url) = self.url(written, SCHEMES, errors) {
                        if urls.contains(&url) {
                            errors.push(
                                self.locator
                                    .error(written.span(), format!("`{url}` is listed twice")),
                            );
                        }
                        urls.push(url);
                    }
                }
                (errors.len() == before).then_some(urls)
            }
            (Some(url), Some(_)) => {
                errors.push(self.locator.error(url.span(), "write `url` or `urls`, not both"));
                None
            }
            (None, None) => {
                errors.push(self.locator.error(
                    base.span.clone(),
                    "an http check needs a `url` (or a list of `urls`)",
                ));
                None
            }
        }
    }

    /// `http_version = "auto" | "1.1" | "2"` (`auto` only for the request, not as an expectation).
    fn http_version(
        &self,
        written: Option<&Spanned<String>>,
        auto_allowed: bool,
        errors: &mut Vec<SpecError>,
    ) -> Option<HttpVersion> {
        let Some(written) = written else {
            return Some(HttpVersion::Auto);
        };
        match HttpVersion::parse(written.get_ref()) {
            Some(HttpVersion::Auto) if !auto_allowed => {
                errors.push(self.locator.error(
                    written.span(),
                    "expect.http_version is \"1.1\" or \"2\" (auto is not a version an answer has)",
                ));
                None
            }
            Some(version) => Some(version),
            None => {
                errors.push(self.locator.error(
                    written.span(),
                    format!(
                        "http_version = \"{}\": write \"auto\", \"1.1\" or \"2\"",
                        written.get_ref()
                    ),
                ));
                None
            }
        }
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
        if let Some(scheme) = &raw.redirect_scheme {
            match scheme.get_ref().to_ascii_lowercase().as_str() {
                lower @ ("http" | "https") => expect.redirect_scheme = Some(lower.to_owned()),
                _ => errors.push(self.locator.error(
                    scheme.span(),
                    format!(
                        "redirect_scheme = \"{}\": write \"https\" or \"http\"",
                        scheme.get_ref()
                    ),
                )),
            }
        }
        if let (Some(target), Some(scheme)) = (&expect.redirect_to, &expect.redirect_scheme) {
            if target.scheme() != scheme {
                if let Some(written) = &raw.redirect_scheme {
                    errors.push(self.locator.error(
                        written.span(),
                        format!("redirect_scheme = \"{scheme}\" contradicts redirect_to = \"{target}\""),
                    ));
                }
            }
        }
        expect.redirect_keeps_path = raw.redirect_keeps_path.unwrap_or(false);
        if raw.http_version.is_some() {
            expect.http_version = self.http_version(raw.http_version.as_ref(), false, errors);
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
        let parse = || -> Result<Url, Cause> {
            let text = self.scope.substitute(written.get_ref())?;
            let url = Url::parse(&text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
            if !schemes.contains(&url.scheme()) {
                return Err(Cause::from(format!(
                    "`{text}`: the scheme must be {}",
                    schemes
                        .iter()
                        .map(|s| format!("{s}://"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )));
            }
            let host = url.host_str().ok_or_else(|| format!("`{text}` names no host"))?;
            super::host::Host::parse(host)?;
            if url.port() == Some(0) {
                return Err(Cause::from(format!(
                    "`{text}`: port 0 is out of range: ports are 1 to 65535"
                )));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(Cause::from(format!(
                    "`{}`: put credentials in a header, not in the URL (reports show URLs)",
                    super::request::redact_userinfo(&text)
                )));
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
        let parse = || -> Result<ProxyChoice, Cause> {
            let text = self.scope.substitute(written.get_ref())?;
            if text == "none" {
                return Ok(ProxyChoice::Direct);
            }
            Ok(ProxyUrl::parse(&text).map(ProxyChoice::Url)?)
        };
        parse()
            .map_err(|e| errors.push(self.locator.error(written.span(), e)))
            .ok()
    }
}
