//! `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`: which proxy a request goes through.

use crate::spec::request::{ProxyChoice, ProxyUrl};
use url::Url;

/// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (either case), read once per run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    pub https: Option<ProxyUrl>,
    pub http: Option<ProxyUrl>,
    /// Lowercase host suffixes (`.corp`, `example.com`), addresses, or `*`.
    pub no_proxy: Vec<String>,
}

impl ProxyEnv {
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<ProxyEnv, ProxyEnvError> {
        let either = |upper: &str| {
            get(&upper.to_ascii_lowercase())
                .map(|v| (upper.to_ascii_lowercase(), v))
                .or_else(|| get(upper).map(|v| (upper.to_owned(), v)))
        };
        let proxy = |upper: &str| -> Result<Option<ProxyUrl>, ProxyEnvError> {
            match either(upper) {
                None => Ok(None),
                Some((name, value)) => {
                    ProxyUrl::parse(value.trim())
                        .map(Some)
                        .map_err(|reason| ProxyEnvError {
                            variable: name,
                            reason,
                        })
                }
            }
        };
        Ok(ProxyEnv {
            https: proxy("HTTPS_PROXY")?,
            http: proxy("HTTP_PROXY")?,
            no_proxy: either("NO_PROXY")
                .map(|(_, v)| {
                    v.split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The proxy a request to `url` goes through under `choice`.
    pub fn choose(&self, choice: &ProxyChoice, url: &Url) -> Option<ProxyUrl> {
        match choice {
            ProxyChoice::Direct => None,
            ProxyChoice::Url(proxy) => Some(proxy.clone()),
            ProxyChoice::FromEnvironment => {
                let proxy = match url.scheme() {
                    "https" | "wss" => self.https.as_ref(),
                    _ => self.http.as_ref(),
                }?;
                let host = url
                    .host_str()?
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase();
                (!self.bypassed(&host)).then(|| proxy.clone())
            }
        }
    }

    fn bypassed(&self, host: &str) -> bool {
        self.no_proxy.iter().any(|entry| {
            let entry = entry.split(':').next().unwrap_or(entry);
            let bare = entry.trim_start_matches('.');
            entry == "*"
                || host == bare
                || (host.ends_with(bare) && host[..host.len() - bare.len()].ends_with('.'))
        })
    }
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

    #[test]
    fn no_proxy_matches_domains_on_label_boundaries() {
        let proxies = ProxyEnv::from_vars(env(&[
            ("HTTPS_PROXY", "http://proxy.test:3128"),
            ("no_proxy", "internal.test, .corp,127.0.0.1"),
        ]))
        .unwrap();
        let via = |url: &str| proxies.choose(&ProxyChoice::FromEnvironment, &Url::parse(url).unwrap());
        assert!(via("https://api.openai.com/").is_some());
        assert!(via("https://internal.test/").is_none());
        assert!(via("https://a.internal.test/").is_none());
        assert!(via("https://notinternal.test/").is_some());
        assert!(via("https://x.corp/").is_none());
        assert!(via("https://127.0.0.1:8443/").is_none());
        assert!(
            via("http://plain.test/").is_none(),
            "HTTPS_PROXY is not for http://"
        );
        assert!(proxies
            .choose(&ProxyChoice::Direct, &Url::parse("https://a.test/").unwrap())
            .is_none());
    }

    #[test]
    fn a_bad_proxy_variable_is_named_without_its_password() {
        let error = ProxyEnv::from_vars(env(&[("HTTPS_PROXY", "socks5://u:hunter2@p.test")]))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("HTTPS_PROXY"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
