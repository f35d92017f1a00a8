//! `reach tls HOST[:PORT]`: one TLS check built from the command line (target, SNI, policy and
//! policy flags, all validated before anything is probed), run and reported like a check file.

use crate::app;
use crate::cli::{ColorChoice, TlsArgs};
use crate::probe::Ctx;
use crate::run::RunOptions;
use crate::spec::{self, Plan};

/// `reach tls`: one TLS check built from the command line, run and reported like a check file.
pub fn run(args: TlsArgs, color: ColorChoice) -> u8 {
    let check = match tls_check(&args) {
        Ok(check) => check,
        Err(e) => {
            eprintln!("error: {e}");
            return app::USAGE;
        }
    };
    let plan = Plan {
        files: vec!["command line".to_owned()],
        checks: vec![check],
    };
    let (resolver, trust) = match app::connect(args.connect, &plan) {
        Ok(parts) => parts,
        Err(e) => {
            eprintln!("error: {e}");
            return app::USAGE;
        }
    };
    let ctx = Ctx {
        resolver,
        trust,
        ..Ctx::default()
    };
    app::execute(plan, ctx, &RunOptions::default(), &args.output, color)
}

/// The check `reach tls` runs: the target, SNI and policy from the flags, validated.
fn tls_check(args: &TlsArgs) -> Result<spec::Check, String> {
    use crate::spec::{Check, Host, ProbeSpec, Source, TlsCheck};
    use crate::tls::policy::Policy;
    let (host, port) = split_host_port(&args.target)?;
    let host = Host::parse(host).map_err(|e| format!("{}: {e}", args.target))?;
    let sni = match &args.sni {
        Some(text) => match Host::parse(text) {
            Ok(Host::Name(name)) => Some(name),
            _ => return Err(format!("--sni `{text}` must be a DNS name")),
        },
        None => None,
    };
    let base = match &args.policy {
        // Each error on its own line; the caller prints the first `error: ` prefix.
        Some(policy) => spec::load_policy(policy).map_err(|e| e.to_string())?,
        None => Policy::report_only(),
    };
    let flags = spec::PolicyFlags {
        protocols: args.protocols.as_deref(),
        ciphers: args.ciphers.as_deref(),
        tls13_ciphers: args.tls13_ciphers.as_deref(),
        exact: args.exact,
        forbid: args.forbid.as_deref(),
    };
    let policy = spec::apply_flags(base, &flags)?;
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
    Ok(Check {
        id: format!("tls.{}", id.trim_matches('-')),
        name: format!("TLS audit of {target}"),
        tags: Vec::new(),
        vantage: Vec::new(),
        source: Source {
            file: "command line".to_owned(),
            line: 1,
        },
        timeout: args.timeout.unwrap_or(spec::DEFAULT_TIMEOUT),
        retries: spec::DEFAULT_RETRIES,
        probe: ProbeSpec::Tls(TlsCheck {
            host,
            port,
            sni,
            policy,
        }),
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

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn tls_targets_take_an_optional_port() {
        assert_eq!(split_host_port("example.com"), Ok(("example.com", 443)));
        assert_eq!(split_host_port("127.0.0.1:8443"), Ok(("127.0.0.1", 8443)));
        assert_eq!(split_host_port("[::1]:993"), Ok(("::1", 993)));
        assert_eq!(split_host_port("::1"), Ok(("::1", 443)));
        assert!(split_host_port("a:0").is_err());
        assert!(split_host_port("a:https").is_err());
    }
}
