//! Plans that commands build from their flags (`reach scan`, `reach tls`, `reach listeners`):
//! validated by the same rules as a check file (hosts, ports, bounds, policies), with ids and
//! names made here, so that no command builds a [`Check`] of its own.

use super::context::{DEFAULT_RETRIES, DEFAULT_TLS_TIMEOUT, MAX_RETRIES, MAX_TIMEOUT};
use super::host::Host;
use super::plan::{Check, ListenCheck, ListenExpectation, Plan, ProbeSpec, ScanCheck, Source, TlsCheck};
use super::targets;
use super::tls::{apply_flags, load_policy, PolicyError, PolicyFlags};
use crate::outcome::Transport;
use crate::tls::policy::Policy;
use std::sync::Arc;
use std::time::Duration;

/// Where checks built from a command line say they come from.
pub const COMMAND_LINE: &str = "command line";

/// Why a command's arguments do not make a plan; nothing is probed then.
#[derive(Debug, thiserror::Error)]
pub enum CommandLineError {
    /// A value that no check file could hold either: the message names it.
    #[error("{0}")]
    Value(String),
    #[error("{0}")]
    Policy(#[from] PolicyError),
}

fn source() -> Source {
    Source {
        file: COMMAND_LINE.into(),
        line: 1,
    }
}

/// The same bounds as a check file's `timeout` and `retries`.
fn bounded(timeout: Duration, retries: u32) -> Result<(Duration, u32), CommandLineError> {
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(CommandLineError::Value(
            "--timeout must be more than 0 and at most 1h".to_owned(),
        ));
    }
    if retries > MAX_RETRIES {
        return Err(CommandLineError::Value(format!(
            "--retries {retries} is too many: at most {MAX_RETRIES}"
        )));
    }
    Ok((timeout, retries))
}

/// `reach scan`: what to scan and what may be open.
#[derive(Debug, Clone)]
pub struct ScanRequest<'a> {
    /// A host name, an address, a CIDR block, or a comma-separated list of them.
    pub hosts: &'a str,
    pub ports: Vec<u16>,
    /// `None`: an inventory that only reports.
    pub allow: Option<Vec<u16>>,
    pub timeout: Duration,
    pub retries: u32,
    pub concurrency: usize,
}

/// One scan check per host.
pub fn scan(request: ScanRequest<'_>) -> Result<Plan, CommandLineError> {
    let hosts = targets::parse(request.hosts).map_err(CommandLineError::Value)?;
    if request.ports.is_empty() || request.ports.contains(&0) {
        return Err(CommandLineError::Value(
            "--ports must name ports from 1 to 65535".to_owned(),
        ));
    }
    let (timeout, retries) = bounded(request.timeout, request.retries)?;
    let checks = hosts
        .into_iter()
        .map(|host| Check {
            id: format!("scan.{}", host.to_string().replace(':', "_")),
            profile: "scan".into(),
            name: format!("scan of {host}"),
            tags: Arc::default(),
            vantage: Arc::default(),
            source: source(),
            timeout,
            retries,
            probe: ProbeSpec::Scan(ScanCheck {
                host,
                ports: request.ports.clone(),
                allow: request.allow.clone(),
                concurrency: request.concurrency,
            }),
        })
        .collect();
    Ok(Plan {
        files: Vec::new(),
        checks,
    })
}

/// `reach tls`: the server and the policy flags, as typed.
#[derive(Debug, Clone, Default)]
pub struct TlsRequest<'a> {
    /// `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address; 443 by default.
    pub target: &'a str,
    pub sni: Option<&'a str>,
    /// A Mozilla profile's name or a policy file.
    pub policy: Option<&'a str>,
    pub flags: PolicyFlags<'a>,
    pub timeout: Option<Duration>,
}

/// The one TLS check of `reach tls`.
pub fn tls(request: &TlsRequest<'_>) -> Result<Plan, CommandLineError> {
    let (host, port) = split_host_port(request.target).map_err(CommandLineError::Value)?;
    let host = Host::parse(host).map_err(|e| CommandLineError::Value(format!("{}: {e}", request.target)))?;
    let sni = match request.sni {
        Some(text) => match Host::parse(text) {
            Ok(Host::Name(name)) => Some(name.to_string()),
            _ => {
                return Err(CommandLineError::Value(format!(
                    "--sni `{text}` must be a DNS name"
                )))
            }
        },
        None => None,
    };
    let base = match request.policy {
        Some(policy) => load_policy(policy)?,
        None => Policy::report_only(),
    };
    let policy = apply_flags(base, &request.flags).map_err(CommandLineError::Value)?;
    let (timeout, retries) = bounded(request.timeout.unwrap_or(DEFAULT_TLS_TIMEOUT), DEFAULT_RETRIES)?;
    let target = host.with_port(port);
    let id: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let check = Check {
        id: format!("tls.{}", id.trim_matches('-')),
        profile: "tls".into(),
        name: format!("TLS audit of {target}"),
        tags: Arc::default(),
        vantage: Arc::default(),
        source: source(),
        timeout,
        retries,
        probe: ProbeSpec::Tls(Box::new(TlsCheck {
            host,
            port,
            sni,
            policy,
        })),
    };
    Ok(Plan {
        files: vec![COMMAND_LINE.to_owned()],
        checks: vec![check],
    })
}

/// `host`, `host:port`, `[v6]:port` or a bare IPv6 address; the port defaults to 443.
fn split_host_port(text: &str) -> Result<(&str, u16), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("`{p}` in `{text}` is not a port from 1 to 65535"))
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{text}`: missing `]`"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, port(p)?)),
            None if after.is_empty() => Ok((host, 443)),
            None => Err(format!("`{text}` is not HOST[:PORT]")),
        };
    }
    match text.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') => Ok((host, port(p)?)),
        _ => Ok((text, 443)),
    }
}

/// `reach listeners`: the inventory, and one check per `--internal` port (it must not listen on
/// a wildcard address).
pub fn listeners(internal: &[(Transport, u16)]) -> Plan {
    let check = |id: String, name: String, probe: ListenCheck| Check {
        id,
        profile: "listeners".into(),
        name,
        tags: Arc::default(),
        vantage: Arc::default(),
        source: source(),
        timeout: Duration::from_secs(5),
        retries: 0,
        probe: ProbeSpec::Listen(probe),
    };
    let mut checks = vec![check(
        "listeners.inventory".to_owned(),
        "listening sockets".to_owned(),
        ListenCheck {
            transport: None,
            port: None,
            expect: None,
        },
    )];
    for &(transport, port) in internal {
        // TCP ports keep the ids they had before UDP could be named.
        let id = match transport {
            Transport::Tcp => format!("listeners.internal/{port}"),
            Transport::Udp => format!("listeners.internal/udp-{port}"),
        };
        checks.push(check(
            id,
            format!(
                "{}/{port} internal: not on a wildcard address",
                transport.as_str()
            ),
            ListenCheck {
                transport: Some(transport),
                port: Some(port),
                expect: Some(ListenExpectation::NotWildcard),
            },
        ));
    }
    Plan {
        files: Vec::new(),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_targets_take_an_optional_port() {
        assert_eq!(split_host_port("example.com"), Ok(("example.com", 443)));
        assert_eq!(split_host_port("127.0.0.1:8443"), Ok(("127.0.0.1", 8443)));
        assert_eq!(split_host_port("[::1]:993"), Ok(("::1", 993)));
        assert_eq!(split_host_port("::1"), Ok(("::1", 443)));
        assert!(split_host_port("a:0").is_err());
        assert!(split_host_port("a:https").is_err());
    }

    #[test]
    fn command_line_values_meet_the_check_file_bounds() {
        let request = ScanRequest {
            hosts: "127.0.0.1",
            ports: vec![22],
            allow: None,
            timeout: Duration::from_secs(7200),
            retries: 0,
            concurrency: 1,
        };
        let error = scan(request).unwrap_err().to_string();
        assert!(error.contains("at most 1h"), "{error}");
        let error = tls(&TlsRequest {
            target: "bad host",
            ..TlsRequest::default()
        })
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("bad host: "), "{error}");
    }
}
