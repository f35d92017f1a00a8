//! `kind = "listen"`: the inside view. Whether ports listen on this host, and on which
//! addresses: "8000 must listen", "5432 must not listen on a wildcard address".

use super::context::{Base, FileContext, Part};
use super::error::{Cause, SpecError};
use super::plan::{Check, ListenCheck, ListenExpectation, ProbeSpec};
use super::ports;
use super::raw::{RawPortItem, RawPorts};
use crate::outcome::Transport;
use serde::Deserialize;
use serde_spanned::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    pub port: Option<Spanned<RawPorts>>,
    pub ports: Option<Spanned<RawPorts>>,
    /// `tcp` (the default) or `udp`: the transport of the ports that do not name theirs
    /// (`udp/5353`).
    pub protocol: Option<Spanned<String>>,
    pub expect: Spanned<String>,
}

impl FileContext<'_> {
    /// One check per port and transport.
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
        let ports = transport.and_then(|default| self.transport_ports(written, default, errors));
        let (Some(expect), Some(transport), Some(mut ports)) = (expect, transport, ports) else {
            return Vec::new();
        };
        let local_id = self.local_id(base.common, || {
            format!("listen-{}-{}", transport.as_str(), written.get_ref().as_written())
        });
        // Reports list a table's checks by transport, then port, however they were written.
        ports.sort_unstable();
        let several = ports.len() > 1;
        ports
            .into_iter()
            .map(|(own, port)| {
                // A port of the table's own transport keeps the id a plain port list gives it.
                let part = several.then(|| Part {
                    id: if own == transport {
                        port.to_string()
                    } else {
                        format!("{}-{port}", own.as_str())
                    },
                    label: format!("{}/{port}", own.as_str()),
                });
                let probe = ProbeSpec::Listen(ListenCheck {
                    transport: Some(own),
                    port: Some(port),
                    expect: Some(expect),
                });
                let name = format!("{}/{port} {}", own.as_str(), expect.as_str());
                self.build(base, &local_id, part, name, probe)
            })
            .collect()
    }

    /// The (transport, port) pairs of `port`/`ports` after substitution: an item may name its
    /// transport (`udp/5353`); one that does not is of `default`.
    fn transport_ports(
        &self,
        written: &Spanned<RawPorts>,
        default: Transport,
        errors: &mut Vec<SpecError>,
    ) -> Option<Vec<(Transport, u16)>> {
        let expand = || -> Result<Vec<(Transport, u16)>, Cause> {
            let mut pairs = Vec::new();
            let mut text_items = |text: &str| -> Result<(), Cause> {
                let text = self.scope.substitute(text)?;
                pairs.extend(ports::parse_transport_port_list(&text, default)?);
                Ok(())
            };
            match written.get_ref() {
                RawPorts::One(number) => return Ok(vec![(default, ports::port_from_int(*number)?)]),
                RawPorts::Text(text) => text_items(text)?,
                RawPorts::List(items) => {
                    for item in items {
                        match item {
                            RawPortItem::Number(number) => {
                                let port = ports::port_from_int(*number)?;
                                text_items(&port.to_string())?;
                            }
                            RawPortItem::Text(text) => text_items(text)?,
                        }
                    }
                }
            }
            if pairs.is_empty() {
                return Err("the port list is empty".into());
            }
            Ok(ports::dedup_transport_ports(pairs))
        };
        expand()
            .map_err(|e| errors.push(self.locator.error(written.span(), e)))
            .ok()
    }
}
