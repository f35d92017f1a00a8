//! `kind = "tcp"`: a host, one or more ports, and the state each port must be in.

use super::context::{Base, FileContext};
use super::error::SpecError;
use super::plan::{Check, PortExpectation, ProbeSpec, TcpCheck};
use super::raw::RawPorts;
use serde::Deserialize;
use serde_spanned::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTcp {
    pub host: Spanned<String>,
    pub port: Option<Spanned<RawPorts>>,
    pub ports: Option<Spanned<RawPorts>>,
    pub expect: Spanned<String>,
}

impl FileContext<'_> {
    /// One check per port.
    pub(super) fn tcp(&self, raw: RawTcp, base: &Base<'_>, errors: &mut Vec<SpecError>) -> Vec<Check> {
        let host = self.host(&raw.host, errors);
        let expect = PortExpectation::parse(raw.expect.get_ref())
            .ok_or_else(|| {
                let names: Vec<_> = PortExpectation::ALL.iter().map(|e| e.as_str()).collect();
                errors.push(self.locator.error(
                    raw.expect.span(),
                    format!(
                        "unknown port expectation `{}`: expected one of {}",
                        raw.expect.get_ref(),
                        names.join(", ")
                    ),
                ));
            })
            .ok();
        let Some(written) =
            self.written_ports(raw.port.as_ref(), raw.ports.as_ref(), None, "tcp", base, errors)
        else {
            return Vec::new();
        };
        let ports = self.ports(written, errors);
        let (Some(host), Some(expect), Some(ports)) = (host, expect, ports) else {
            return Vec::new();
        };
        let local_id = self.local_id(base.common, || {
            format!("tcp-{}-{}", raw.host.get_ref(), written.get_ref().as_written())
        });
        self.per_port(base, &local_id, ports, |port| {
            let probe = ProbeSpec::Tcp(TcpCheck {
                host: host.clone(),
                port,
                expect,
            });
            (format!("port {port} {}", expect.as_str()), probe)
        })
    }
}
