//! TLS checks: enumerate what the server accepts with raw hellos, make one real handshake with
//! rustls for the negotiated parameters and the certificate, then judge both against the policy.

mod early;
pub mod enumerate;
mod features;
mod groups;
pub mod handshake;
pub mod judge;
mod server;
mod session;
mod wire;

use super::attempt::Attempt;
use super::context::Ctx;
use crate::outcome::{
    AddressProbe, ErrorClass, Finding, HandshakeFailure, Observed, PortState, Stage, Timings, TlsObservation,
    Verdict, Verification, VersionState,
};
use crate::spec::TlsCheck;
use crate::tls::policy::Policy;
use enumerate::Enumerator;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One attempt of a TLS check against the host's first address: the lookup, the connect, the
/// enumeration and the handshake all end within `timeout`.
pub async fn attempt(ctx: &Ctx, check: &TlsCheck, timeout: Duration) -> Attempt {
    let deadline = Instant::now() + timeout;
    let resolved = match ctx.resolver.resolve(&check.host, check.port, timeout).await {
        Ok(resolved) => resolved,
        Err(e) => return Attempt::unresolved(e),
    };
    let Some(&ip) = resolved.addresses.first() else {
        return Attempt::settled(Finding::error(
            Stage::Dns,
            ErrorClass::NoData,
            "the host has no address",
        ));
    };
    let address = SocketAddr::new(ip, check.port);
    let mut timings = Timings {
        dns: Some(resolved.elapsed),
        ..Timings::default()
    };
    let started = Instant::now();
    let left = deadline.saturating_duration_since(Instant::now());
    match crate::probe::connect::connect(address, left).await {
        AddressProbe::State {
            state: PortState::Open,
            ..
        } => {}
        AddressProbe::State { state, evidence } => {
            let class = if state == PortState::Closed {
                ErrorClass::Refused
            } else {
                ErrorClass::Timeout
            };
            let stage = Stage::Tcp;
            // A requirement on the TLS server implies one must answer there: a reset or a
            // silent port contradicts it (as for a port that must be open). Only a bare audit,
            // which requires nothing, has merely failed to observe.
            let verdict = if check.policy.is_report_only() {
                Verdict::Error { stage, class }
            } else {
                Verdict::Fail {
                    stage,
                    class: Some(class),
                }
            };
            let finding = Finding::new(verdict, class.as_str()).message(format!(
                "{address} is {state} ({}): no TLS server to observe",
                evidence.as_str()
            ));
            return Attempt {
                finding,
                inconclusive: class == ErrorClass::Timeout,
            };
        }
        AddressProbe::Error(e) => {
            return Attempt::settled(Finding::error(Stage::Tcp, e.class(), e.to_string()));
        }
    }
    timings.tcp = Some(started.elapsed());
    let observation = observe(
        ctx,
        address,
        check.server_name(),
        &check.policy,
        (timeout, deadline),
        &mut timings,
    )
    .await;
    judge(&check.policy, observation, timings)
}

/// Enumerates (when the policy needs it) and makes the real handshake, in parallel, all of it
/// before `deadline`, the end of the check's `timeout`.
pub async fn observe(
    ctx: &Ctx,
    address: SocketAddr,
    server_name: Option<&str>,
    policy: &Policy,
    (timeout, deadline): (Duration, Instant),
    timings: &mut Timings,
) -> TlsObservation {
    let left = || deadline.saturating_duration_since(Instant::now());
    let enumerator = Enumerator::new(
        address,
        server_name.map(str::to_owned),
        timeout,
        deadline,
        enumerate::CONNECTIONS_PER_HOST,
    );
    let enumerate = policy.needs_enumeration() || policy.is_report_only();
    let versions = async {
        if enumerate {
            enumerator.all_versions().await
        } else {
            Vec::new()
        }
    };
    let name = name_for(server_name, address);
    let handshake = async {
        let started = Instant::now();
        let result = match name {
            Ok(name) => handshake::handshake(&ctx.trust, address, name, left()).await,
            Err(e) => Err(crate::outcome::HandshakeFailure {
                class: ErrorClass::CertWrongHost,
                detail: format!("`{}` is not a valid server name: {e}", server_name.unwrap_or("")),
            }),
        };
        (result, started.elapsed())
    };
    let (versions, (mut handshake, elapsed)) = tokio::join!(versions, handshake);
    timings.tls = Some(elapsed);
    // The deep audit builds on what enumeration found: the suites to offer for groups, DH and
    // the protocol checks. A bare audit runs all of it; a policy only what its rules judge.
    let full = policy.is_report_only();
    let wanted = if full {
        crate::tls::Feature::ALL.to_vec()
    } else {
        policy.features()
    };
    let deep_groups = full || policy.judges_groups();
    let any_accepted = versions.iter().any(|v| v.state == VersionState::Accepted);
    let (groups, dh, features) = if any_accepted {
        let server = server::Server {
            enumerator: &enumerator,
            versions: &versions,
            server_name: name_for(server_name, address)
                .unwrap_or_else(|_| ServerName::IpAddress(address.ip().into())),
            tls13: tokio::sync::OnceCell::new(),
        };
        let groups = async {
            if deep_groups {
                Some(groups::groups(&enumerator, &versions).await)
            } else {
                None
            }
        };
        let dh = async {
            if deep_groups {
                Some(groups::dh(&enumerator, &versions).await)
            } else {
                None
            }
        };
        let features = features::features(&server, &wanted);
        tokio::join!(groups, dh, features)
    } else {
        (None, None, Vec::new())
    };
    // rustls speaks only TLS 1.2/1.3 with modern suites; for anything else read the certificate
    // from a raw hello of the newest version the server accepted.
    let rustls_cannot =
        matches!(&handshake, Err(f) if matches!(f.class, ErrorClass::TlsAlert | ErrorClass::TlsHandshake));
    let legacy = versions
        .iter()
        .rev()
        .filter(|v| v.version != crate::tls::Version::Tls13)
        .find_map(|v| v.suites.first().map(|s| (v.version, *s)));
    if let (true, Some((version, suite)), Ok(name)) = (rustls_cannot, legacy, name_for(server_name, address))
    {
        let rustls_said = handshake
            .as_ref()
            .err()
            .map(|f| f.detail.clone())
            .unwrap_or_default();
        handshake = handshake::legacy_certificate(&ctx.trust, address, name, version, suite, left())
            .await
            .map_err(|f| HandshakeFailure {
                detail: format!("{rustls_said}; and the raw {version} hello: {}", f.detail),
                ..f
            });
    }
    TlsObservation {
        address,
        sni: server_name.map(str::to_owned),
        versions,
        handshake,
        groups,
        dh,
        features,
        probes: enumerator.probes(),
    }
}

fn name_for(
    server_name: Option<&str>,
    address: SocketAddr,
) -> Result<ServerName<'static>, rustls::pki_types::InvalidDnsNameError> {
    match server_name {
        Some(name) => ServerName::try_from(name.to_owned()),
        None => Ok(ServerName::IpAddress(address.ip().into())),
    }
}

/// Pass, fail or error from an observation.
pub fn judge(policy: &Policy, seen: TlsObservation, timings: Timings) -> Attempt {
    let judgement = judge::judge(policy, &seen);
    let summary = summary(&seen);
    let stage = Stage::Tls;
    let error = |class: Option<ErrorClass>| Verdict::Error {
        stage,
        class: class
            .or_else(|| seen.handshake.as_ref().err().map(|f| f.class))
            .unwrap_or(ErrorClass::Timeout),
    };
    let (verdict, inconclusive, message) = if !judgement.violations.is_empty() {
        let class = judgement.class;
        (
            Verdict::Fail { stage, class },
            false,
            judgement.violations.join("; "),
        )
    } else if !judgement.unknown.is_empty() {
        (error(judgement.class), true, judgement.unknown.join("; "))
    } else if seen.versions.is_empty() && seen.handshake.is_err() {
        let detail = seen
            .handshake
            .as_ref()
            .err()
            .map(|f| f.detail.clone())
            .unwrap_or_default();
        (error(judgement.class), false, detail)
    } else {
        let any_accepted = seen.accepted().next().is_some() || seen.handshake.is_ok();
        if any_accepted {
            (Verdict::Pass { stage }, false, String::new())
        } else if seen
            .versions
            .iter()
            .any(|v| v.state == VersionState::Inconclusive)
        {
            let why = seen
                .versions
                .iter()
                .find(|v| v.state == VersionState::Inconclusive)
                .and_then(|v| v.detail.as_deref())
                .map(|detail| format!(": {detail}"))
                .unwrap_or_default();
            (
                error(judgement.class),
                true,
                format!("no version answered conclusively{why}"),
            )
        } else {
            let class = judgement.class;
            (
                Verdict::Fail { stage, class },
                false,
                "the server accepts no TLS version".to_owned(),
            )
        }
    };
    Attempt {
        finding: Finding::new(verdict, summary)
            .message(message)
            .observed(Observed::Tls {
                observation: Box::new(seen),
                violations: judgement.violations,
            })
            .timings(timings),
        inconclusive,
    }
}

/// One line: the accepted versions with their suite counts, and the certificate's state.
fn summary(seen: &TlsObservation) -> String {
    let mut parts: Vec<String> = seen
        .accepted()
        .map(|v| {
            let more = if v.complete { "" } else { "+" };
            format!("{} ({}{more})", v.version, v.suites.len())
        })
        .collect();
    if seen.versions.is_empty() {
        if let Ok(h) = &seen.handshake {
            parts.push(format!("{} {}", h.version, h.suite.name()));
        }
    } else if parts.is_empty() {
        parts.push("no version accepted".to_owned());
    }
    match &seen.handshake {
        Ok(h) => {
            let cert = match (&h.chain, &h.hostname, &h.certificate) {
                (Verification::Invalid { class, .. }, _, _) | (_, Verification::Invalid { class, .. }, _) => {
                    class.as_str().to_owned()
                }
                (_, _, Some(c)) => format!("cert ok, {}d left", c.days_left),
                _ => "cert ok".to_owned(),
            };
            parts.push(cert);
        }
        Err(f) => parts.push(format!("no rustls handshake ({})", f.class.as_str())),
    }
    parts.join(", ")
}
