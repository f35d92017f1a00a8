//! The one place where errors from the operating system and libraries become reach's own
//! vocabulary ([`ErrorClass`], [`PortState`]). Probes call these; nothing else matches on
//! foreign error types.

use crate::outcome::{AddressProbe, ErrorClass, PortEvidence, PortState};
use std::io;

/// When a connect error was reported, which decides what it proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorTiming {
    /// `connect()` itself failed: the kernel refused before any packet left this host (no local
    /// route, a local firewall rule), so nothing is known about the target.
    Immediate,
    /// The error arrived later, from the network (a RST or an ICMP message).
    FromNetwork,
}

/// Classifies a failed TCP connect.
pub fn connect_error(error: &io::Error, timing: ErrorTiming) -> AddressProbe {
    use io::ErrorKind as K;
    let from_network = timing == ErrorTiming::FromNetwork;
    match error.kind() {
        // A RST, whenever it arrives; on loopback the kernel may report it at once.
        K::ConnectionRefused => AddressProbe::State {
            state: PortState::Closed,
            evidence: PortEvidence::Reset,
        },
        // Linux reports ICMP host, network and administratively-prohibited unreachables as these.
        K::HostUnreachable | K::NetworkUnreachable if from_network => AddressProbe::State {
            state: PortState::Filtered,
            evidence: PortEvidence::IcmpUnreachable,
        },
        K::TimedOut if from_network => AddressProbe::State {
            state: PortState::Filtered,
            evidence: PortEvidence::NoResponse,
        },
        K::HostUnreachable | K::NetworkUnreachable => AddressProbe::Error {
            class: ErrorClass::Unreachable,
            detail: format!("this host has no route to the target ({error})"),
        },
        K::AddrNotAvailable => AddressProbe::Error {
            class: ErrorClass::Unreachable,
            detail: format!("no local address can reach the target ({error})"),
        },
        K::PermissionDenied => AddressProbe::Error {
            class: ErrorClass::LocalPolicy,
            detail: format!("this host's own firewall or policy blocked the probe ({error})"),
        },
        _ if error.raw_os_error() == Some(libc::EAFNOSUPPORT) => AddressProbe::Error {
            class: ErrorClass::Unreachable,
            detail: format!("this host cannot use that address family ({error})"),
        },
        _ if error.raw_os_error() == Some(libc::EMFILE) || error.raw_os_error() == Some(libc::ENFILE) => {
            AddressProbe::Error {
                class: ErrorClass::LocalPolicy,
                detail: format!(
                    "out of file descriptors: lower --concurrency or raise `ulimit -n` ({error})"
                ),
            }
        }
        _ => AddressProbe::Error {
            class: ErrorClass::Io,
            detail: error.to_string(),
        },
    }
}

/// Classifies a failure of the system resolver (getaddrinfo), which reports only a message.
pub fn system_resolver_error(error: &io::Error) -> ErrorClass {
    let message = error.to_string();
    if message.contains("Name or service not known")
        || message.contains("No address associated with hostname")
        || message.contains("nodename nor servname")
    {
        ErrorClass::Nxdomain
    } else if message.contains("Temporary failure in name resolution") {
        ErrorClass::Servfail
    } else {
        ErrorClass::Io
    }
}

/// Classifies a failed rustls handshake.
pub fn tls_error(error: &rustls::Error) -> ErrorClass {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::Expired | C::ExpiredContext { .. } => ErrorClass::CertExpired,
            C::NotValidYet | C::NotValidYetContext { .. } => ErrorClass::CertNotYetValid,
            C::UnknownIssuer => ErrorClass::CertUnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => ErrorClass::CertWrongHost,
            C::Revoked => ErrorClass::CertRevoked,
            _ => ErrorClass::CertInvalid,
        },
        rustls::Error::AlertReceived(_) => ErrorClass::TlsAlert,
        _ => ErrorClass::TlsHandshake,
    }
}

/// Classifies a certificate verification error, telling a self-signed leaf (an unknown issuer
/// that is its own issuer) from a chain to an unknown authority.
pub fn certificate_error(error: &rustls::Error, self_signed: bool) -> ErrorClass {
    match tls_error(error) {
        ErrorClass::CertUnknownIssuer if self_signed => ErrorClass::CertSelfSigned,
        class => class,
    }
}

/// Finds the rustls error inside an io error from tokio-rustls, if there is one.
pub fn tls_io_error(error: &io::Error) -> Option<ErrorClass> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(tls_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn a_reset_is_closed_whenever_it_arrives() {
        for timing in [ErrorTiming::Immediate, ErrorTiming::FromNetwork] {
            assert_eq!(
                connect_error(&os(libc::ECONNREFUSED), timing),
                AddressProbe::State {
                    state: PortState::Closed,
                    evidence: PortEvidence::Reset
                }
            );
        }
    }

    #[test]
    fn unreachable_is_filtered_only_when_the_network_said_so() {
        assert_eq!(
            connect_error(&os(libc::EHOSTUNREACH), ErrorTiming::FromNetwork),
            AddressProbe::State {
                state: PortState::Filtered,
                evidence: PortEvidence::IcmpUnreachable
            }
        );
        assert!(matches!(
            connect_error(&os(libc::ENETUNREACH), ErrorTiming::Immediate),
            AddressProbe::Error {
                class: ErrorClass::Unreachable,
                ..
            }
        ));
        assert!(matches!(
            connect_error(&os(libc::EPERM), ErrorTiming::Immediate),
            AddressProbe::Error {
                class: ErrorClass::LocalPolicy,
                ..
            }
        ));
    }

    #[test]
    fn certificate_errors_keep_their_reason() {
        let expired = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        assert_eq!(tls_error(&expired), ErrorClass::CertExpired);
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, expired);
        assert_eq!(tls_io_error(&wrapped), Some(ErrorClass::CertExpired));
        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
        assert_eq!(tls_error(&alert), ErrorClass::TlsAlert);
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert_eq!(certificate_error(&unknown, true), ErrorClass::CertSelfSigned);
        assert_eq!(certificate_error(&unknown, false), ErrorClass::CertUnknownIssuer);
    }

    #[test]
    fn resolver_messages_map_to_classes() {
        let nx = io::Error::other("failed to lookup address information: Name or service not known");
        assert_eq!(system_resolver_error(&nx), ErrorClass::Nxdomain);
        let again =
            io::Error::other("failed to lookup address information: Temporary failure in name resolution");
        assert_eq!(system_resolver_error(&again), ErrorClass::Servfail);
    }
}
