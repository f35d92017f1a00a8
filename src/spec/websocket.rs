//! `kind = "websocket"`: a `ws://` or `wss://` URL that must upgrade (101), and optionally echo a
//! message.

use super::context::{Base, FileContext};
use super::error::SpecError;
use super::plan::{Check, ProbeSpec};
use super::request::WebsocketCheck;
use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebsocket {
    pub url: Spanned<String>,
    pub headers: Option<Spanned<BTreeMap<String, String>>>,
    pub echo: Option<Spanned<String>>,
    pub proxy: Option<Spanned<String>>,
}

impl FileContext<'_> {
    pub(super) fn websocket(
        &self,
        raw: RawWebsocket,
        base: &Base<'_>,
        errors: &mut Vec<SpecError>,
    ) -> Vec<Check> {
        let url = self.url(&raw.url, &["ws", "wss"], errors);
        let headers = self.request_headers(raw.headers.as_ref(), errors);
        let proxy = self.proxy(raw.proxy.as_ref(), errors);
        let echo = match &raw.echo {
            None => Some(None),
            Some(text) if text.get_ref().is_empty() => {
                errors.push(self.locator.error(text.span(), "echo needs a non-empty message"));
                None
            }
            Some(text) if text.get_ref().len() > 125 => {
                errors.push(self.locator.error(
                    text.span(),
                    "an echo message is at most 125 bytes (one small frame)",
                ));
                None
            }
            Some(text) => Some(Some(text.get_ref().clone())),
        };
        let (Some(url), Some(headers), Some(proxy), Some(echo)) = (url, headers, proxy, echo) else {
            return Vec::new();
        };
        let local_id = self.local_id(base.common, || format!("websocket-{}", raw.url.get_ref()));
        let name = format!("websocket {url}");
        let check = WebsocketCheck {
            url,
            headers,
            echo,
            proxy,
        };
        vec![self.build(base, &local_id, None, name, ProbeSpec::Websocket(Box::new(check)))]
    }
}
