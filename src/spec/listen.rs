//! `kind = "listen"`: the inside view. Whether ports listen on this host, and on which
//! addresses: "8000 must listen", "5432 must not listen on a wildcard address".

use super::context::{Base, FileContext};
use super::error::SpecError;
use super::plan::{Check, ListenCheck, ListenExpectation, ProbeSpec};
use super::raw::RawPorts;
use crate::outcome::Transport;
use serde::Deserialize;
use serde_spanned::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    pub port: Option<Spanned<RawPorts>>,
    pub ports: Option<Spanned<RawPorts>>,
    /// `tcp` (the default) or `udp`.
    pub protocol: Option<Spanned<String>>,
    pub expect: Spanned<String>,
}

impl FileContext<'_> {
    /// One check per port.
    pub(super) fn listen(&self, raw: RawListen, base: &Base<'_>, errors: &mut Vec<SpecError>) -> Vec<Check> {
        let expect = ListenExpectation::parse(raw.expect.get_ref())
            .ok_or_else(|| {
                let names: Vec<_> = ListenExpectation::ALL.iter().map(|e| e.as_str()).collect();
                errors.push(self.locator.error(
                    raw.expect.span(),
                    format!(
                        "unknown listen expectation `{}`: expected one of {}",
                        raw.expect.get_ref(),
                        names.join(", ")
                    ),
                ));
            })
            .ok();
        let transport = match &raw.protocol {
            None => Some(Transport::Tcp),
            Some(protocol) => match protocol.get_ref().as_str() {
                "tcp" => Some(Transport::Tcp),
                "udp" => Some(Transport::Udp),
                other => {
                    errors.push(self.locator.error(
                        protocol.span(),
                        format!("unknown protocol `{other}`: expected tcp or udp"),
                    ));
                    None
                }
            },
        };
        let Some(written) = self.written_ports(
            raw.port.as_ref(),
            raw.ports.as_ref(),
            None,
            "listen",
            base,
            errors,
        ) else {
            return Vec::new();
        };
        let ports = self.ports(written, errors);
        let (Some(expect), Some(transport), Some(ports)) = (expect, transport, ports) else {
            return Vec::new();
        };
        let local_id = self.local_id(base.common, || {
            format!("listen-{}-{}", transport.as_str(), written.get_ref().as_written())
        });
        self.per_port(base, &local_id, ports, |port| {
            let probe = ProbeSpec::Listen(ListenCheck {
                transport: Some(transport),
                port: Some(port),
                expect: Some(expect),
            });
            (
                format!("{}/{port} {}", transport.as_str(), expect.as_str()),
                probe,
            )
        })
    }
}
