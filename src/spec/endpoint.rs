//! `kind = "endpoint"`: an external API (a built-in `provider` preset, or any `https://` URL) that
//! must be reachable from here, with its key validated on request (`auth = true`).

use super::context::{Base, FileContext};
use super::error::SpecError;
use super::plan::{Check, ProbeSpec};
use super::request::{EndpointCheck, Provider};
use serde::Deserialize;
use serde_spanned::Spanned;
use url::Url;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub provider: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub auth: Option<Spanned<bool>>,
    pub proxy: Option<Spanned<String>>,
}

impl FileContext<'_> {
    pub(super) fn endpoint(
        &self,
        raw: RawEndpoint,
        base: &Base<'_>,
        errors: &mut Vec<SpecError>,
    ) -> Vec<Check> {
        let provider = match &raw.provider {
            None => Some(None),
            Some(name) => match self.scope.substitute(name.get_ref()).map(|n| Provider::parse(&n)) {
                Ok(Some(provider)) => Some(Some(provider)),
                Ok(None) => {
                    let names: Vec<_> = Provider::ALL.iter().map(|p| p.as_str()).collect();
                    errors.push(self.locator.error(
                        name.span(),
                        format!(
                            "unknown provider `{}`: expected one of {}",
                            name.get_ref(),
                            names.join(", ")
                        ),
                    ));
                    None
                }
                Err(e) => {
                    errors.push(self.locator.error(name.span(), e));
                    None
                }
            },
        };
        let url = match (&raw.url, provider) {
            (Some(url), _) => self.url(url, &["https", "http"], errors),
            (None, Some(Some(provider))) => Url::parse(provider.default_url()).ok(),
            (None, Some(None)) => {
                errors.push(self.locator.error(
                    base.span.clone(),
                    "an endpoint check needs a `provider` (deepgram, openai, groq, huggingface) or a `url`",
                ));
                None
            }
            (None, None) => None,
        };
        let auth = raw.auth.as_ref().is_some_and(|a| *a.get_ref());
        if let (Some(written), Some(None)) = (&raw.auth, provider) {
            if auth {
                errors.push(self.locator.error(
                    written.span(),
                    "auth = true needs a `provider`: reach knows where each provider's key lives and how it is sent",
                ));
                return Vec::new();
            }
        }
        let proxy = self.proxy(raw.proxy.as_ref(), errors);
        let (Some(provider), Some(url), Some(proxy)) = (provider, url, proxy) else {
            return Vec::new();
        };
        let local_id = self.local_id(base.common, || match provider {
            Some(provider) => format!("endpoint-{}", provider.as_str()),
            None => format!("endpoint-{}", url.host_str().unwrap_or("url")),
        });
        let name = match provider {
            Some(provider) => format!("{} API reachable", provider.as_str()),
            None => format!("{} reachable", url.host_str().unwrap_or("endpoint")),
        };
        let check = EndpointCheck {
            provider,
            url,
            auth,
            proxy,
        };
        vec![self.build(base, &local_id, None, name, ProbeSpec::Endpoint(Box::new(check)))]
    }
}
