//! `kind = "scan"`: a firewall audit of a host (or a list or CIDR block of hosts): which ports
//! answer, and which open ones the `allow` list does not name.

use super::context::{Base, FileContext, Part};
use super::error::SpecError;
use super::host::Host;
use super::plan::{Check, ProbeSpec, ScanCheck, DEFAULT_SCAN_CONCURRENCY};
use super::raw::RawPorts;
use super::targets;
use crate::services;
use serde::Deserialize;
use serde_spanned::Spanned;

/// The most connects in flight one scan check may ask for.
const MAX_CONCURRENCY: i64 = 65_536;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScan {
    pub host: Spanned<String>,
    /// Default: every port, 1-65535.
    pub ports: Option<Spanned<RawPorts>>,
    /// The N highest-ranked well-known ports instead of `ports`.
    pub top: Option<Spanned<i64>>,
    /// Ports that may be open; `[]` means none may.
    pub allow: Spanned<RawPorts>,
    pub concurrency: Option<Spanned<i64>>,
}

impl FileContext<'_> {
    /// One check per host.
    pub(super) fn scan(&self, raw: RawScan, base: &Base<'_>, errors: &mut Vec<SpecError>) -> Vec<Check> {
        let hosts = self
            .scope
            .substitute(raw.host.get_ref())
            .and_then(|text| targets::parse(&text).map_err(Into::into))
            .map_err(|e| errors.push(self.locator.error(raw.host.span(), e)))
            .ok();
        let ports = match (&raw.ports, &raw.top) {
            (Some(_), Some(top)) => {
                errors.push(
                    self.locator
                        .error(top.span(), "write either `ports` or `top`, not both"),
                );
                None
            }
            (Some(ports), None) => self.ports(ports, errors),
            (None, Some(top)) => match usize::try_from(*top.get_ref()) {
                Ok(n) if (1..=65_535).contains(&n) => Some(services::top(n)),
                _ => {
                    errors.push(self.locator.error(
                        top.span(),
                        format!("top = {} is out of range: 1 to 65535 ports", top.get_ref()),
                    ));
                    None
                }
            },
            (None, None) => Some((1..=u16::MAX).collect()),
        };
        let allow = match raw.allow.get_ref() {
            RawPorts::List(items) if items.is_empty() => Some(Vec::new()),
            _ => self.ports(&raw.allow, errors),
        };
        let concurrency = match &raw.concurrency {
            None => Some(DEFAULT_SCAN_CONCURRENCY),
            Some(n) if (1..=MAX_CONCURRENCY).contains(n.get_ref()) => usize::try_from(*n.get_ref()).ok(),
            Some(n) => {
                errors.push(self.locator.error(
                    n.span(),
                    format!(
                        "concurrency = {} is out of range: 1 to {MAX_CONCURRENCY}",
                        n.get_ref()
                    ),
                ));
                None
            }
        };
        let (Some(hosts), Some(ports), Some(allow), Some(concurrency)) = (hosts, ports, allow, concurrency)
        else {
            return Vec::new();
        };
        let local_id = self.local_id(base.common, || format!("scan-{}", raw.host.get_ref()));
        let several = hosts.len() > 1;
        hosts
            .into_iter()
            .map(|host: Host| {
                let part = several.then(|| Part {
                    id: host.to_string(),
                    label: host.to_string(),
                });
                let name = format!("scan of {host}");
                let probe = ProbeSpec::Scan(ScanCheck {
                    host,
                    ports: ports.clone(),
                    allow: Some(allow.clone()),
                    concurrency,
                });
                self.build(base, &local_id, part, name, probe)
            })
            .collect()
    }
}
