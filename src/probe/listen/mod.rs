//! `listen` checks: this host's listening sockets (read by [`sockets`]) judged against a
//! requirement. An internal port bound to a wildcard address is a latent exposure: it is closed
//! to the outside only as long as the firewall holds, whatever a scan from outside shows today.

pub mod sockets;

use super::attempt::Attempt;
use crate::classify;
use crate::outcome::{BindScope, ErrorClass, Finding, ListeningSocket, Observed, Stage, Transport, Verdict};
use crate::spec::{ListenCheck, ListenExpectation};

/// The finding for an internal port on a wildcard address.
pub const LATENT_EXPOSURE: &str = "latent exposure: only the firewall protects it";

/// Reads the socket tables and judges them. Reading /proc is local and definite: never retried.
pub async fn attempt(check: &ListenCheck) -> Attempt {
    let transports = match check.transport {
        Some(transport) => vec![transport],
        None => vec![Transport::Tcp, Transport::Udp],
    };
    let read = tokio::task::spawn_blocking(move || sockets::read(&transports)).await;
    let finding = match read {
        Ok(Ok(sockets)) => {
            let sockets = sockets
                .into_iter()
                .filter(|s| check.port.is_none_or(|port| s.port == port))
                .collect();
            judge(check, sockets)
        }
        Ok(Err(e)) => Finding::error(
            Stage::Assert,
            classify::local_read_error(&e.error),
            format!("cannot read {}: {}", e.path, e.error),
        ),
        Err(e) => Finding::error(
            Stage::Assert,
            ErrorClass::Io,
            format!("internal error: reading the socket tables stopped: {e}"),
        ),
    };
    Attempt::settled(finding)
}

/// Judges the sockets of the check's port (or all of them, for an inventory).
pub fn judge(check: &ListenCheck, sockets: Vec<ListeningSocket>) -> Finding {
    let what = check.port.map_or_else(String::new, |port| {
        format!("{}/{port}", check.transport.map_or("tcp", Transport::as_str))
    });
    let wildcard: Vec<&ListeningSocket> = sockets
        .iter()
        .filter(|s| s.scope() == BindScope::Wildcard)
        .collect();
    let beyond_loopback: Vec<&ListeningSocket> = sockets
        .iter()
        .filter(|s| s.scope() != BindScope::Loopback)
        .collect();
    let failure = match check.expect {
        None => None,
        Some(ListenExpectation::Listening) if sockets.is_empty() => {
            Some(format!("nothing listens on {what} on this host"))
        }
        Some(ListenExpectation::NotListening) if !sockets.is_empty() => {
            Some(format!("{what} must not listen but listens on {}", bound(&sockets.iter().collect::<Vec<_>>())))
        }
        Some(ListenExpectation::NotWildcard) if !wildcard.is_empty() => Some(format!(
            "{LATENT_EXPOSURE}: {what} listens on {}, every address of this host",
            bound(&wildcard)
        )),
        Some(ListenExpectation::LoopbackOnly) if !wildcard.is_empty() => Some(format!(
            "{LATENT_EXPOSURE}: {what} must listen on loopback only but listens on {}, every address of this host",
            bound(&wildcard)
        )),
        Some(ListenExpectation::LoopbackOnly) if !beyond_loopback.is_empty() => Some(format!(
            "{what} must listen on loopback only but listens on {}",
            bound(&beyond_loopback)
        )),
        Some(_) => None,
    };
    let stage = Stage::Assert;
    let (verdict, message) = match failure {
        Some(message) => (Verdict::Fail { stage, class: None }, message),
        None => (Verdict::Pass { stage }, String::new()),
    };
    Finding::new(verdict, summarize(check, &sockets))
        .message(message)
        .observed(Observed::Listen { sockets })
}

/// `0.0.0.0 (postgres, pid 812), ::1`.
fn bound(sockets: &[&ListeningSocket]) -> String {
    sockets
        .iter()
        .map(|s| match &s.process {
            Some(p) => format!("{} ({}, pid {})", s.address, p.name, p.pid),
            None => s.address.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn summarize(check: &ListenCheck, sockets: &[ListeningSocket]) -> String {
    if check.port.is_none() {
        let wildcard = sockets
            .iter()
            .filter(|s| s.scope() == BindScope::Wildcard)
            .count();
        return format!(
            "{} listening sockets, {wildcard} on wildcard addresses",
            sockets.len()
        );
    }
    if sockets.is_empty() {
        return "not listening".to_owned();
    }
    let addresses: Vec<String> = sockets.iter().map(|s| s.address.to_string()).collect();
    format!("listening on {}", addresses.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    fn socket(address: &str) -> ListeningSocket {
        ListeningSocket {
            transport: Transport::Tcp,
            address: address.parse().unwrap(),
            port: 5432,
            process: None,
        }
    }

    fn check(expect: ListenExpectation) -> ListenCheck {
        ListenCheck {
            transport: Some(Transport::Tcp),
            port: Some(5432),
            expect: Some(expect),
        }
    }

    #[test]
    fn a_wildcard_bind_of_an_internal_port_is_a_latent_exposure() {
        for wildcard in ["0.0.0.0", "::"] {
            let outcome = judge(&check(ListenExpectation::NotWildcard), vec![socket(wildcard)]);
            assert_eq!(outcome.verdict.status(), Status::Fail);
            assert!(
                outcome.message.starts_with(LATENT_EXPOSURE),
                "{}",
                outcome.message
            );
        }
        let loopback = judge(&check(ListenExpectation::NotWildcard), vec![socket("127.0.0.1")]);
        assert_eq!(loopback.verdict.status(), Status::Pass);
        let absent = judge(&check(ListenExpectation::NotWildcard), vec![]);
        assert_eq!(absent.verdict.status(), Status::Pass);
    }

    #[test]
    fn loopback_only_refuses_specific_addresses_too() {
        let outcome = judge(&check(ListenExpectation::LoopbackOnly), vec![socket("10.0.0.5")]);
        assert_eq!(outcome.verdict.status(), Status::Fail);
        assert!(outcome.message.contains("10.0.0.5"), "{}", outcome.message);
        let ok = judge(&check(ListenExpectation::LoopbackOnly), vec![socket("::1")]);
        assert_eq!(ok.verdict.status(), Status::Pass);
    }

    #[test]
    fn listening_and_not_listening() {
        assert_eq!(
            judge(&check(ListenExpectation::Listening), vec![])
                .verdict
                .status(),
            Status::Fail
        );
        assert_eq!(
            judge(&check(ListenExpectation::Listening), vec![socket("10.0.0.5")])
                .verdict
                .status(),
            Status::Pass
        );
        let outcome = judge(&check(ListenExpectation::NotListening), vec![socket("::1")]);
        assert_eq!(outcome.verdict.status(), Status::Fail);
        assert_eq!(outcome.summary, "listening on ::1");
    }
}
