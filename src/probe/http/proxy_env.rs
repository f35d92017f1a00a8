//! `https_proxy`, `http_proxy`, `all_proxy` and `no_proxy`: which proxy a request goes through.
//!
//! hyper-util's matcher applies the `no_proxy` rules (curl's: domains and their subdomains on
//! label boundaries, IP addresses, CIDR blocks, `*`). reach reads the variables itself first, for
//! three things the matcher does differently: the lowercase name wins over the uppercase one, as
//! in curl; a value that is not a usable proxy is a usage error instead of being ignored (a
//! silently direct request would test the wrong path); and `host:port` entries in `no_proxy`
//! exempt only that port (curl ignores the port; the matcher keeps such an entry as a domain that
//! never matches).

use crate::spec::request::{ProxyChoice, ProxyUrl};
use hyper_util::client::proxy::matcher::Matcher;
use std::fmt;
use std::net::IpAddr;
use url::Url;

/// The proxy variables of the run's environment, read once.
pub struct ProxyEnv {
    https: Option<ProxyUrl>,
    http: Option<ProxyUrl>,
    all: Option<ProxyUrl>,
    /// `no_proxy` entries without a port, as hyper-util's matcher applies them.
    matcher: Matcher,
    /// `no_proxy` entries with a port: (lowercase host or address, port).
    with_port: Vec<(String, u16)>,
    /// `no_proxy` has `*`: nothing is proxied (the matcher applies `*` to names only).
    none: bool,
    /// `no_proxy` as written, for Debug.
    no_proxy: String,
}

impl Default for ProxyEnv {
    fn default() -> Self {
        ProxyEnv {
            https: None,
            http: None,
            all: None,
            matcher: Matcher::builder().build(),
            with_port: Vec::new(),
            none: false,
            no_proxy: String::new(),
        }
    }
}

impl fmt::Debug for ProxyEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ProxyUrl's Display never shows credentials.
        let shown = |p: &Option<ProxyUrl>| p.as_ref().map(ToString::to_string);
        f.debug_struct("ProxyEnv")
            .field("https", &shown(&self.https))
            .field("http", &shown(&self.http))
            .field("all", &shown(&self.all))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyEnv {
    /// Reads the variables through `get`: for each, the lowercase name if it is set (even to
    /// an empty value, which means "none"), else the uppercase one.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<ProxyEnv, ProxyEnvError> {
        let read = |lower: &str| -> Option<(String, String)> {
            let upper = lower.to_ascii_uppercase();
            let (name, value) = match get(lower) {
                Some(value) => (lower.to_owned(), value),
                None => (upper.clone(), get(&upper)?),
            };
            let value = value.trim().to_owned();
            (!value.is_empty()).then_some((name, value))
        };
        let proxy = |lower: &str| -> Result<Option<ProxyUrl>, ProxyEnvError> {
            let Some((variable, value)) = read(lower) else {
                return Ok(None);
            };
            ProxyUrl::parse(&value)
                .map(Some)
                .map_err(|reason| ProxyEnvError { variable, reason })
        };
        let (https, http, all) = (proxy("https_proxy")?, proxy("http_proxy")?, proxy("all_proxy")?);
        let no_proxy = read("no_proxy").map(|(_, v)| v).unwrap_or_default();
        let mut plain = Vec::new();
        let mut with_port = Vec::new();
        let entries = || no_proxy.split([',', ' ', '\t']).filter(|e| !e.is_empty());
        let none = entries().any(|e| e == "*");
        for entry in entries() {
            match entry_with_port(entry) {
                Some(rule) => with_port.push(rule),
                // The matcher compares IPv6 hosts without brackets, and entries as written.
                None => plain.push(
                    entry
                        .strip_prefix('[')
                        .and_then(|e| e.strip_suffix(']'))
                        .unwrap_or(entry),
                ),
            }
        }
        // Credentials stay out of the matcher: it only decides whether a request is proxied.
        let value = |p: &Option<ProxyUrl>| p.as_ref().map(ToString::to_string).unwrap_or_default();
        let matcher = Matcher::builder()
            .https(value(&https))
            .http(value(&http))
            .all(value(&all))
            .no(plain.join(","))
            .build();
        Ok(ProxyEnv {
            https,
            http,
            all,
            matcher,
            with_port,
            none,
            no_proxy,
        })
    }

    /// The proxy a request to `url` goes through under `choice`.
    pub fn choose(&self, choice: &ProxyChoice, url: &Url) -> Option<ProxyUrl> {
        match choice {
            ProxyChoice::Direct => None,
            ProxyChoice::Url(proxy) => Some(proxy.clone()),
            ProxyChoice::FromEnvironment => {
                let secure = matches!(url.scheme(), "https" | "wss");
                let proxy = if secure { &self.https } else { &self.http }
                    .as_ref()
                    .or(self.all.as_ref())?;
                let host = url.host_str()?;
                let port = url.port_or_known_default()?;
                if self.none || self.exempt_port(host, port) {
                    return None;
                }
                // The matcher answers for http(s) only: WebSocket URLs ask as their scheme's twin.
                let scheme = if secure { "https" } else { "http" };
                let uri: http::Uri = format!("{scheme}://{host}/").parse().ok()?;
                self.matcher.intercept(&uri).map(|_| proxy.clone())
            }
        }
    }

    fn exempt_port(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.with_port.iter().any(|(rule, rule_port)| {
            *rule_port == port
                && match (rule.parse::<IpAddr>(), host.parse::<IpAddr>()) {
                    (Ok(a), Ok(b)) => a == b,
                    (Err(_), Err(_)) => {
                        let bare = rule.trim_start_matches('.');
                        host == bare || host.strip_suffix(bare).is_some_and(|rest| rest.ends_with('.'))
                    }
                    _ => false,
                }
        })
    }
}

/// `host:port` or `[v6]:port` (a bare IPv6 address such as `::1` has no port).
fn entry_with_port(entry: &str) -> Option<(String, u16)> {
    let (host, port) = match entry.strip_prefix('[') {
        Some(rest) => {
            let (host, port) = rest.split_once("]:")?;
            (host, port)
        }
        None => {
            let (host, port) = entry.split_once(':')?;
            if port.contains(':') {
                return None;
            }
            (host, port)
        }
    };
    let port = port.parse().ok()?;
    (!host.is_empty()).then(|| (host.to_ascii_lowercase(), port))
}

/// A proxy variable that cannot be used: named, with its credentials hidden in the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ProxyEnvError {
    pub variable: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name| map.get(name).cloned()
    }

    fn via(proxies: &ProxyEnv, url: &str) -> Option<String> {
        proxies
            .choose(&ProxyChoice::FromEnvironment, &Url::parse(url).unwrap())
            .map(|p| p.to_string())
    }

    #[test]
    fn no_proxy_follows_curls_rules() {
        let proxies = ProxyEnv::from_vars(env(&[
            ("HTTPS_PROXY", "http://proxy.test:3128"),
            (
                "no_proxy",
                "internal.test, .corp,127.0.0.1 10.0.0.0/8,::1,[fd00::7],Other.Test:8443",
            ),
        ]))
        .unwrap();
        let proxied = Some("http://proxy.test:3128".to_owned());
        assert_eq!(via(&proxies, "https://api.openai.com/"), proxied);
        assert_eq!(via(&proxies, "https://internal.test/"), None);
        assert_eq!(via(&proxies, "https://a.internal.test/"), None);
        assert_eq!(via(&proxies, "https://notinternal.test/"), proxied);
        assert_eq!(via(&proxies, "https://x.corp/"), None);
        assert_eq!(via(&proxies, "https://127.0.0.1:8443/"), None);
        assert_eq!(via(&proxies, "https://10.20.30.40/"), None, "CIDR");
        assert_eq!(via(&proxies, "https://[::1]:8443/"), None, "a bare IPv6 entry");
        assert_eq!(
            via(&proxies, "https://[fd00::7]/"),
            None,
            "a bracketed IPv6 entry"
        );
        assert_eq!(via(&proxies, "https://other.test:8443/"), None, "host:port");
        assert_eq!(via(&proxies, "https://a.other.test:8443/"), None);
        assert_eq!(via(&proxies, "https://other.test/"), proxied, "only that port");
        assert_eq!(via(&proxies, "wss://api.openai.com/ws"), proxied);
        assert_eq!(
            via(&proxies, "http://plain.test/"),
            None,
            "HTTPS_PROXY is not for http://"
        );
        assert!(proxies
            .choose(&ProxyChoice::Direct, &Url::parse("https://a.test/").unwrap())
            .is_none());
        let all = ProxyEnv::from_vars(env(&[("no_proxy", "*"), ("ALL_PROXY", "socks5h://s.test")])).unwrap();
        assert_eq!(via(&all, "https://anything.test/"), None);
        assert_eq!(via(&all, "https://192.0.2.1/"), None, "`*` covers addresses too");
    }

    #[test]
    fn lowercase_wins_and_all_proxy_is_the_fallback() {
        let proxies = ProxyEnv::from_vars(env(&[
            ("https_proxy", "http://lower.test:1"),
            ("HTTPS_PROXY", "http://upper.test:2"),
            ("http_proxy", ""),
            ("HTTP_PROXY", "http://upper.test:3"),
            ("ALL_PROXY", "socks5h://all.test"),
        ]))
        .unwrap();
        assert_eq!(via(&proxies, "https://a.test/").unwrap(), "http://lower.test:1");
        assert_eq!(
            via(&proxies, "http://a.test/").unwrap(),
            "socks5h://all.test:1080",
            "an empty http_proxy hides HTTP_PROXY; all_proxy applies"
        );
        assert!(format!("{proxies:?}").contains("lower.test"));
    }

    #[test]
    fn a_bad_proxy_variable_is_named_without_its_password() {
        for (variable, value) in [
            ("HTTPS_PROXY", "socks4://u:hunter2@p.test"),
            ("all_proxy", "ftp://u:hunter2@p.test"),
            ("http_proxy", "http://u:hunter2@p.test/some/path"),
        ] {
            let error = ProxyEnv::from_vars(env(&[(variable, value)]))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(variable), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn credentials_stay_out_of_debug_output() {
        let proxies =
            ProxyEnv::from_vars(env(&[("https_proxy", "socks5://me:hunter2@p.test:1080")])).unwrap();
        let shown = format!("{proxies:?}");
        assert!(
            shown.contains("socks5://p.test:1080") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
