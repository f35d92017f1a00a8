//! The validated plan of the HTTP-speaking kinds (`http`, `websocket`, `endpoint`): what to send,
//! through which proxy, and what the answer must look like.

use std::fmt;
use std::time::Duration;
use url::Url;

/// Most redirects followed before a chain is called too long (curl and browsers use 20-50; an
/// API's health endpoint that needs more than this is broken).
pub const MAX_REDIRECTS: usize = 10;

/// `kind = "http"`: one request (or `samples` of them) and expectations on the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    pub request: Request,
    pub follow_redirects: bool,
    /// Requests made per attempt; latency figures are taken over all of them.
    pub samples: u32,
    pub expect: HttpExpect,
}

/// What is sent, and how it reaches the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: http::Method,
    pub url: Url,
    /// Extra request headers, names lowercased, in the written order.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub proxy: ProxyChoice,
}

/// Which proxy a request goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyChoice {
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, as curl reads them.
    FromEnvironment,
    /// `proxy = "none"`: always direct, whatever the environment says.
    Direct,
    /// `proxy = "http://host:port"`.
    Url(ProxyUrl),
}

/// An HTTP proxy (CONNECT for TLS targets, absolute-form requests for plain HTTP).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyUrl {
    pub host: super::host::Host,
    pub port: u16,
    /// `user:password` from the URL, sent as Basic `Proxy-Authorization`; never shown.
    pub credentials: Option<String>,
}

impl ProxyUrl {
    /// Parses `http://[user:pass@]host[:port]`; the port defaults to 1080 like curl's.
    pub fn parse(text: &str) -> Result<ProxyUrl, String> {
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let url = Url::parse(&with_scheme).map_err(|e| {
            format!(
                "`{}` is not a proxy URL ({e}): write e.g. http://proxy.internal:3128",
                redact_userinfo(text)
            )
        })?;
        if url.scheme() != "http" {
            return Err(format!(
                "proxy scheme `{}` is not supported: reach speaks to HTTP proxies (http://host:port)",
                url.scheme()
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("`{}` names no proxy host", redact_userinfo(text)))
            .and_then(super::host::Host::parse)?;
        let credentials = (!url.username().is_empty()).then(|| {
            let decode = |s: &str| percent_decode(s);
            format!(
                "{}:{}",
                decode(url.username()),
                decode(url.password().unwrap_or(""))
            )
        });
        Ok(ProxyUrl {
            host,
            port: url.port().unwrap_or(1080),
            credentials,
        })
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = self.credentials.as_ref().map(|_| "[redacted]");
        f.debug_struct("ProxyUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &credentials)
            .finish()
    }
}

impl fmt::Display for ProxyUrl {
    /// The proxy as reports show it: never with its credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.host.with_port(self.port))
    }
}

/// `user:pass@` taken out of a URL-ish text, for error messages.
pub fn redact_userinfo(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}[redacted]@{}", &text[..scheme_end + 3], &text[at + 1..])
        }
        (None, Some(at)) => format!("[redacted]@{}", &text[at + 1..]),
        _ => text.to_owned(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the answer to an `http` check must look like.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpExpect {
    /// Any of these; empty means the default (2xx, or 3xx when `redirect_to` is checked without
    /// following).
    pub status: Vec<StatusMatch>,
    /// The first response must redirect here (its `Location`, resolved against the request URL).
    pub redirect_to: Option<Url>,
    pub headers: Vec<HeaderRule>,
    pub body: Vec<BodyRule>,
    /// Slowest response time allowed (each sample).
    pub max: Option<Duration>,
    /// Mean response time allowed over the samples.
    pub avg: Option<Duration>,
    /// 95th-percentile response time allowed over the samples.
    pub p95: Option<Duration>,
}

impl HttpExpect {
    /// The status rule in force: the written one, else the default.
    pub fn statuses(&self, follow_redirects: bool) -> Vec<StatusMatch> {
        if !self.status.is_empty() {
            self.status.clone()
        } else if self.redirect_to.is_some() && !follow_redirects {
            vec![StatusMatch::Class(3)]
        } else {
            vec![StatusMatch::Class(2)]
        }
    }
}

/// One accepted status: a code (`301`) or a class (`"2xx"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    Code(u16),
    Class(u8),
}

impl StatusMatch {
    pub fn parse(text: &str) -> Result<StatusMatch, String> {
        let lower = text.trim().to_ascii_lowercase();
        if let Some(digit) = lower.strip_suffix("xx") {
            return match digit.parse::<u8>() {
                Ok(class @ 1..=5) if digit.len() == 1 => Ok(StatusMatch::Class(class)),
                _ => Err(format!("`{text}` is not a status class: write 1xx to 5xx")),
            };
        }
        let code: i64 = lower.parse().map_err(|_| {
            format!("`{text}` is not a status: write a code like 200 or a class like \"2xx\"")
        })?;
        StatusMatch::code(code)
    }

    pub fn code(code: i64) -> Result<StatusMatch, String> {
        u16::try_from(code)
            .ok()
            .filter(|c| (100..=599).contains(c))
            .map(StatusMatch::Code)
            .ok_or_else(|| format!("status {code} is out of range: HTTP statuses are 100 to 599"))
    }

    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Code(code) => code == status,
            StatusMatch::Class(class) => status / 100 == u16::from(class),
        }
    }
}

impl fmt::Display for StatusMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusMatch::Code(code) => write!(f, "{code}"),
            StatusMatch::Class(class) => write!(f, "{class}xx"),
        }
    }
}

/// A rule about one response header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRule {
    /// Lowercase.
    pub name: String,
    pub test: HeaderTest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderTest {
    Present,
    Absent,
    Equals(String),
    Matches(Pattern),
    /// A `max-age=N` directive (Strict-Transport-Security, Cache-Control) with N at least this.
    MaxAgeAtLeast(u64),
}

/// A rule about the response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRule {
    Contains(String),
    Matches(Pattern),
    /// The body is JSON and the value at this pointer (RFC 6901) equals this one.
    JsonEquals {
        pointer: String,
        value: serde_json::Value,
    },
}

/// A compiled regular expression, compared by its source.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex_lite::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

/// `kind = "websocket"`: an HTTP/1.1 upgrade that must be answered with 101.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebsocketCheck {
    /// `ws://` or `wss://`.
    pub url: Url,
    pub headers: Vec<(String, String)>,
    /// A text message that must come back unchanged.
    pub echo: Option<String>,
    pub proxy: ProxyChoice,
}

/// `kind = "endpoint"`: an external API that must be reachable (DNS, TCP, TLS with a valid chain,
/// any HTTP answer), and optionally accept this host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointCheck {
    pub provider: Option<Provider>,
    pub url: Url,
    /// Validate the provider's key from the environment.
    pub auth: bool,
    pub proxy: ProxyChoice,
}

/// A built-in external API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Deepgram,
    OpenAi,
    Groq,
    HuggingFace,
}

/// How a provider's key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    Bearer,
    /// Deepgram's `Authorization: Token KEY`.
    Token,
}

impl Provider {
    pub const ALL: &'static [Provider] = &[
        Provider::Deepgram,
        Provider::OpenAi,
        Provider::Groq,
        Provider::HuggingFace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Deepgram => "deepgram",
            Provider::OpenAi => "openai",
            Provider::Groq => "groq",
            Provider::HuggingFace => "huggingface",
        }
    }

    pub fn parse(name: &str) -> Option<Provider> {
        Provider::ALL.iter().copied().find(|p| p.as_str() == name)
    }

    /// A harmless URL: a read-only listing that answers 401 without a key and 200 with one.
    pub fn default_url(self) -> &'static str {
        match self {
            Provider::Deepgram => "https://api.deepgram.com/v1/projects",
            Provider::OpenAi => "https://api.openai.com/v1/models",
            Provider::Groq => "https://api.groq.com/openai/v1/models",
            Provider::HuggingFace => "https://huggingface.co/api/whoami-v2",
        }
    }

    /// Environment variables that may hold the key, in the order they are tried.
    pub fn key_variables(self) -> &'static [&'static str] {
        match self {
            Provider::Deepgram => &["DEEPGRAM_KEY", "DEEPGRAM_API_KEY"],
            Provider::OpenAi => &["OPENAI_API_KEY"],
            Provider::Groq => &["GROQ_API_KEY"],
            Provider::HuggingFace => &["HF_TOKEN"],
        }
    }

    pub fn auth_scheme(self) -> AuthScheme {
        match self {
            Provider::Deepgram => AuthScheme::Token,
            _ => AuthScheme::Bearer,
        }
    }
}

impl HttpCheck {
    /// The requirement, in one short phrase.
    pub fn expected(&self) -> String {
        let check = self;
        let expect = &check.expect;
        let statuses: Vec<String> = expect
            .statuses(check.follow_redirects)
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut parts = vec![statuses.join("|")];
        if let Some(target) = &expect.redirect_to {
            parts[0] = format!("{} -> {target}", parts[0]);
        }
        let rules = expect.headers.len() + expect.body.len();
        if rules > 0 {
            parts.push(format!("{rules} rule{}", if rules == 1 { "" } else { "s" }));
        }
        let budget = |label: &str, d: Option<Duration>| d.map(|d| format!("{label}<={}ms", d.as_millis()));
        parts.extend(budget("max", expect.max));
        parts.extend(budget("avg", expect.avg));
        parts.extend(budget("p95", expect.p95));
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_as_codes_and_classes() {
        assert_eq!(StatusMatch::parse("2xx"), Ok(StatusMatch::Class(2)));
        assert_eq!(StatusMatch::parse("301"), Ok(StatusMatch::Code(301)));
        assert!(StatusMatch::parse("6xx").is_err());
        assert!(StatusMatch::parse("99").is_err());
        assert!(StatusMatch::parse("ok").is_err());
        assert!(StatusMatch::Class(4).matches(404));
        assert!(!StatusMatch::Class(4).matches(500));
    }

    #[test]
    fn proxy_urls_keep_credentials_out_of_sight() {
        let proxy = ProxyUrl::parse("http://me:s%40cret@proxy.test:3128").unwrap();
        assert_eq!(proxy.credentials.as_deref(), Some("me:s@cret"));
        assert_eq!(proxy.to_string(), "http://proxy.test:3128");
        assert_eq!(ProxyUrl::parse("proxy.test").unwrap().port, 1080);
        let error = ProxyUrl::parse("socks5://me:pw@proxy.test").unwrap_err();
        assert!(error.contains("socks5") && !error.contains("pw"), "{error}");
        assert_eq!(redact_userinfo("http://a:b@h:1"), "http://[redacted]@h:1");
    }
}
