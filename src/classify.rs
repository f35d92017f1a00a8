//! The one place where errors from the operating system and libraries become reach's own
//! vocabulary ([`ErrorClass`], [`PortState`]). Probes call these; nothing else matches on
//! foreign error types.

use crate::outcome::{AddressProbe, ConnectError, ErrorClass, LocalCause, PortEvidence, PortState};
use hickory_proto::op::ResponseCode;
use hickory_proto::{ProtoError, ProtoErrorKind};
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

/// What the socket's error queue showed about a refused connect. The kernel reports a RST and
/// an ICMP port-unreachable alike (`ECONNREFUSED`); with `IP_RECVERR` it also queues the ICMP
/// message itself, which tells the two apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpSeen {
    /// An ICMP port-unreachable for this connect: a firewall's REJECT (or a host refusing with
    /// ICMP), which nmap calls filtered.
    PortUnreachable,
    /// The error queue was watched and held no ICMP message: the refusal was a RST.
    Nothing,
    /// The error queue could not be watched: a RST and an ICMP port-unreachable look the same.
    NotWatched,
}

/// Classifies a failed TCP connect; `icmp` is what the socket's error queue showed, when the
/// error was a refusal.
pub fn connect_error(error: &io::Error, timing: ErrorTiming, icmp: IcmpSeen) -> AddressProbe {
    use io::ErrorKind as K;
    let from_network = timing == ErrorTiming::FromNetwork;
    match error.kind() {
        // On loopback the kernel may report the refusal at once.
        K::ConnectionRefused => match icmp {
            IcmpSeen::PortUnreachable => AddressProbe::State {
                state: PortState::Filtered,
                evidence: PortEvidence::IcmpPortUnreachable,
            },
            IcmpSeen::Nothing => AddressProbe::State {
                state: PortState::Closed,
                evidence: PortEvidence::Reset,
            },
            IcmpSeen::NotWatched => AddressProbe::State {
                state: PortState::Closed,
                evidence: PortEvidence::Refused,
            },
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
        K::HostUnreachable | K::NetworkUnreachable => local(LocalCause::NoRoute, error),
        K::AddrNotAvailable => local(LocalCause::NoLocalAddress, error),
        K::PermissionDenied => local(LocalCause::LocalFirewall, error),
        _ if error.raw_os_error() == Some(libc::EAFNOSUPPORT) => local(LocalCause::AddressFamily, error),
        _ if error.raw_os_error() == Some(libc::EMFILE) || error.raw_os_error() == Some(libc::ENFILE) => {
            local(LocalCause::OutOfDescriptors, error)
        }
        _ => local(LocalCause::Other, error),
    }
}

/// A connect that proved nothing about the target, keeping the operating system's error.
fn local(cause: LocalCause, error: &io::Error) -> AddressProbe {
    // io::Error is not Clone; its kind, OS code and text are what messages and reports use.
    let copy = match error.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(error.kind(), error.to_string()),
    };
    AddressProbe::Error(ConnectError::new(cause, copy))
}

/// Classifies a failure to read this host's own state (the /proc socket tables).
pub fn local_read_error(error: &io::Error) -> ErrorClass {
    match error.kind() {
        io::ErrorKind::PermissionDenied => ErrorClass::LocalPolicy,
        _ => ErrorClass::Io,
    }
}

/// Classifies an operating-system error while asking a DNS server. A connected UDP socket
/// reports an ICMP port unreachable from the server as `ECONNREFUSED`, as TCP reports a RST.
pub fn dns_transport_error(error: &io::Error) -> ErrorClass {
    use io::ErrorKind as K;
    match error.kind() {
        K::ConnectionRefused => ErrorClass::Refused,
        K::HostUnreachable | K::NetworkUnreachable => ErrorClass::Unreachable,
        K::TimedOut => ErrorClass::Timeout,
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
            ErrorClass::ConnectionClosed
        }
        K::PermissionDenied => ErrorClass::LocalPolicy,
        _ => ErrorClass::Io,
    }
}

/// The class of a DNS response code that is neither an answer nor a negative one (NOERROR and
/// NXDOMAIN are observations the check judges).
pub fn dns_rcode(code: ResponseCode) -> ErrorClass {
    match code {
        ResponseCode::ServFail => ErrorClass::Servfail,
        ResponseCode::Refused => ErrorClass::ResolverRefused,
        _ => ErrorClass::DnsError,
    }
}

/// What a failing DNS response code means, in words.
pub fn dns_rcode_text(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "the server answered SERVFAIL: it could not resolve the name".to_owned(),
        ResponseCode::Refused => {
            "the server answered REFUSED: it will not resolve this name for this client".to_owned()
        }
        ResponseCode::FormErr => "the server answered FORMERR: it could not read the query".to_owned(),
        ResponseCode::NotImp => "the server answered NOTIMP: it does not support this query".to_owned(),
        code => format!(
            "the server answered response code {} ({})",
            u16::from(code),
            code.to_str()
        ),
    }
}

/// Why hickory could not decode part of a DNS message, in words.
pub fn dns_decode_reason(error: &ProtoError) -> String {
    match error.kind() {
        ProtoErrorKind::PointerNotPriorToLabel { idx, ptr } => format!(
            "the name compression pointer at byte {idx} points to byte {ptr}, not back to an \
             earlier name (a compression pointer loop)"
        ),
        ProtoErrorKind::IncorrectRDataLengthRead { read, len } => {
            format!("bad rdata: RDLENGTH says {len} bytes but the record's data takes {read}")
        }
        ProtoErrorKind::LabelBytesTooLong(len) => format!("a name label of {len} bytes (at most 63)"),
        ProtoErrorKind::DomainNameTooLong(len) => format!("a name of {len} bytes (at most 255)"),
        ProtoErrorKind::UnrecognizedLabelCode(code) => format!("an unknown label type {code:#04x}"),
        _ => error.to_string(),
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

/// A rustls error in words. rustls's own messages show its enum variants (`received fatal
/// alert: HandshakeFailure`, `peer is incompatible: NoCipherSuitesInCommon`, names as
/// `DnsName("...")`): these say the same in the words of the TLS registries and of people.
/// `self_signed` tells an unknown issuer that is the certificate itself.
pub fn tls_words(error: &rustls::Error, self_signed: bool) -> String {
    use rustls::Error as E;
    match error {
        E::AlertReceived(alert) => format!(
            "the server sent the TLS alert {}",
            crate::tls::codec::alert_name(u8::from(*alert))
        ),
        E::InvalidCertificate(reason) => certificate_words(reason, self_signed),
        E::PeerIncompatible(why) => format!("the server is incompatible: {}", debug_words(why)),
        E::PeerMisbehaved(why) => format!("the server misbehaved: {}", debug_words(why)),
        E::InvalidMessage(what) => format!("the server sent a corrupt message: {}", debug_words(what)),
        E::InappropriateMessage { got_type, .. } => {
            format!("the server sent an unexpected {} message", debug_words(got_type))
        }
        E::InappropriateHandshakeMessage { got_type, .. } => format!(
            "the server sent an unexpected {} handshake message",
            debug_words(got_type)
        ),
        E::NoCertificatesPresented => "the server sent no certificate".to_owned(),
        E::DecryptError => "a message from the server could not be decrypted".to_owned(),
        E::PeerSentOversizedRecord => "the server sent a record larger than TLS allows".to_owned(),
        E::NoApplicationProtocol => "the server supports none of the offered ALPN protocols".to_owned(),
        other => debug_words(&other.to_string()),
    }
}

/// A rustls certificate error in words, with the dates and names rustls gives.
fn certificate_words(reason: &rustls::CertificateError, self_signed: bool) -> String {
    use rustls::pki_types::UnixTime;
    use rustls::CertificateError as C;
    let date = |t: &UnixTime| {
        let seconds = std::time::Duration::from_secs(t.as_secs());
        humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + seconds).to_string()
    };
    match reason {
        C::Expired => "expired".to_owned(),
        C::ExpiredContext { not_after, .. } => format!("expired on {}", date(not_after)),
        C::NotValidYet => "not valid yet".to_owned(),
        C::NotValidYetContext { not_before, .. } => format!("not valid before {}", date(not_before)),
        C::UnknownIssuer if self_signed => "self-signed, and not among the trusted roots".to_owned(),
        C::UnknownIssuer => "issued by an authority that is not among the trusted roots".to_owned(),
        C::NotValidForName => "does not name the server".to_owned(),
        C::NotValidForNameContext { expected, presented } => format!(
            "does not name {} (it names {})",
            expected.to_str(),
            if presented.is_empty() {
                "nothing".to_owned()
            } else {
                presented
                    .iter()
                    .map(|name| presented_name(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        C::Revoked => "revoked".to_owned(),
        C::BadSignature => "its signature does not verify".to_owned(),
        C::BadEncoding => "it is not a well-formed certificate".to_owned(),
        C::UnhandledCriticalExtension => "it has a critical extension that cannot be checked".to_owned(),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "it is not meant for TLS servers (its extended key usage)".to_owned()
        }
        C::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            "a CA certificate is served as the server's certificate".to_owned()
        }
        other => debug_words(&format!("{other:?}")),
    }
}

/// A name as webpki presents it (`DnsName("a.test")`, `IpAddress(127.0.0.1)`), as people write
/// it (`a.test`, `127.0.0.1`).
fn presented_name(name: &str) -> String {
    let inner = |prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
            .map(|inner| inner.trim_matches('"').to_owned())
    };
    inner("DnsName(")
        .or_else(|| inner("IpAddress("))
        .or_else(|| inner("UniformResourceIdentifier("))
        .unwrap_or_else(|| match name {
            "DirectoryName" => "a directory name".to_owned(),
            other => debug_words(other),
        })
}

/// A library's `Debug` name in words: `NoCipherSuitesInCommon` -> `no cipher suites in common`.
fn debug_words(text: &(impl std::fmt::Debug + ?Sized)) -> String {
    let text = format!("{text:?}");
    let text = text.trim_matches('"');
    let mut out = String::with_capacity(text.len() + 8);
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if c.is_ascii_uppercase() && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    out
}

/// An io error from a TLS stream in words: the rustls error inside it when there is one.
pub fn stream_words(error: &io::Error) -> String {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => tls_words(tls, false),
        None => error.to_string(),
    }
}

/// Finds the rustls error inside an io error from tokio-rustls, if there is one.
pub fn tls_io_error(error: &io::Error) -> Option<ErrorClass> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(tls_error)
}

/// Classifies an io error on an established connection (TLS handshake, request, response).
pub fn stream_error(error: &io::Error) -> ErrorClass {
    use io::ErrorKind as K;
    if let Some(tls) = tls_io_error(error) {
        return tls;
    }
    match error.kind() {
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => {
            ErrorClass::ConnectionClosed
        }
        K::TimedOut => ErrorClass::Timeout,
        K::InvalidData => ErrorClass::HttpProtocol,
        _ => ErrorClass::Io,
    }
}

/// Classifies a failed HTTP exchange reported by hyper.
pub fn hyper_error(error: &hyper::Error) -> ErrorClass {
    if error.is_timeout() {
        return ErrorClass::Timeout;
    }
    if error.is_parse() || error.is_parse_status() {
        return ErrorClass::HttpProtocol;
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return stream_error(io);
        }
        source = inner.source();
    }
    if error.is_incomplete_message() || error.is_canceled() || error.is_closed() {
        ErrorClass::ConnectionClosed
    } else {
        ErrorClass::Io
    }
}

/// The class of an HTTP status that is an error in itself (4xx, 5xx).
pub fn http_status(status: u16) -> Option<ErrorClass> {
    match status {
        400..=499 => Some(ErrorClass::Http4xx),
        500..=599 => Some(ErrorClass::Http5xx),
        _ => None,
    }
}

/// The class of a proxy's refusal of CONNECT: its own policy, or trouble reaching the target.
pub fn proxy_status(status: u16) -> ErrorClass {
    match status {
        502..=504 => ErrorClass::ProxyUpstream,
        _ => ErrorClass::ProxyRefused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn a_refusal_is_closed_by_a_reset_and_filtered_by_an_icmp_port_unreachable() {
        let refused = |icmp| connect_error(&os(libc::ECONNREFUSED), ErrorTiming::FromNetwork, icmp);
        let seen = |state, evidence| AddressProbe::State { state, evidence };
        assert_eq!(
            refused(IcmpSeen::Nothing),
            seen(PortState::Closed, PortEvidence::Reset)
        );
        assert_eq!(
            refused(IcmpSeen::PortUnreachable),
            seen(PortState::Filtered, PortEvidence::IcmpPortUnreachable)
        );
        assert_eq!(
            refused(IcmpSeen::NotWatched),
            seen(PortState::Closed, PortEvidence::Refused),
            "without the error queue reach cannot tell, and says refused"
        );
        // On loopback the kernel may report the refusal from connect() itself.
        assert_eq!(
            connect_error(&os(libc::ECONNREFUSED), ErrorTiming::Immediate, IcmpSeen::Nothing),
            seen(PortState::Closed, PortEvidence::Reset)
        );
    }

    #[test]
    fn unreachable_is_filtered_only_when_the_network_said_so() {
        assert_eq!(
            connect_error(
                &os(libc::EHOSTUNREACH),
                ErrorTiming::FromNetwork,
                IcmpSeen::NotWatched
            ),
            AddressProbe::State {
                state: PortState::Filtered,
                evidence: PortEvidence::IcmpUnreachable
            }
        );
        assert!(matches!(
            connect_error(&os(libc::ENETUNREACH), ErrorTiming::Immediate, IcmpSeen::NotWatched),
            AddressProbe::Error(e) if e.class() == ErrorClass::Unreachable
        ));
        let AddressProbe::Error(local) =
            connect_error(&os(libc::EPERM), ErrorTiming::Immediate, IcmpSeen::NotWatched)
        else {
            panic!("a local EPERM proves nothing about the target");
        };
        assert_eq!(local.class(), ErrorClass::LocalPolicy);
        // The operating system's error is kept, and shown, until the message is rendered.
        assert_eq!(
            local.source.as_ref().and_then(|e| e.raw_os_error()),
            Some(libc::EPERM)
        );
        assert!(
            local.to_string().starts_with("this host's own firewall"),
            "{local}"
        );
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
    fn tls_errors_are_told_in_words_without_rust_names() {
        use rustls::{AlertDescription, CertificateError, Error, PeerIncompatible};
        let alert = Error::AlertReceived(AlertDescription::HandshakeFailure);
        assert_eq!(
            tls_words(&alert, false),
            "the server sent the TLS alert handshake_failure"
        );
        let incompatible = Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon);
        assert_eq!(
            tls_words(&incompatible, false),
            "the server is incompatible: no cipher suites in common"
        );
        let name = Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("shop.test").unwrap(),
            presented: vec!["DnsName(\"localhost\")".into(), "IpAddress(127.0.0.1)".into()],
        });
        assert_eq!(
            tls_words(&name, false),
            "does not name shop.test (it names localhost, 127.0.0.1)"
        );
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, name);
        assert!(!stream_words(&wrapped).contains("DnsName"));
        for error in [
            alert,
            incompatible,
            Error::InvalidCertificate(CertificateError::BadEncoding),
        ] {
            let words = tls_words(&error, false);
            assert!(
                !words
                    .chars()
                    .zip(words.chars().skip(1))
                    .any(|(a, b)| a.is_lowercase() && b.is_uppercase()),
                "{words}"
            );
        }
    }

    #[test]
    fn stream_errors_tell_a_dropped_connection_from_a_tls_failure() {
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(stream_error(&eof), ErrorClass::ConnectionClosed);
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, unknown);
        assert_eq!(stream_error(&wrapped), ErrorClass::CertUnknownIssuer);
        assert_eq!(http_status(503), Some(ErrorClass::Http5xx));
        assert_eq!(http_status(302), None);
        assert_eq!(proxy_status(407), ErrorClass::ProxyRefused);
        assert_eq!(proxy_status(502), ErrorClass::ProxyUpstream);
    }

    #[test]
    fn dns_failures_keep_their_meaning() {
        assert_eq!(dns_rcode(ResponseCode::ServFail), ErrorClass::Servfail);
        assert_eq!(dns_rcode(ResponseCode::Refused), ErrorClass::ResolverRefused);
        assert_eq!(dns_rcode(ResponseCode::NotImp), ErrorClass::DnsError);
        assert!(dns_rcode_text(ResponseCode::NotImp).contains("NOTIMP"));
        // A connected UDP socket hears the server's ICMP port unreachable as ECONNREFUSED.
        assert_eq!(dns_transport_error(&os(libc::ECONNREFUSED)), ErrorClass::Refused);
        assert_eq!(
            dns_transport_error(&os(libc::EHOSTUNREACH)),
            ErrorClass::Unreachable
        );
        let pointer: ProtoError = ProtoErrorKind::PointerNotPriorToLabel { idx: 40, ptr: 40 }.into();
        assert!(dns_decode_reason(&pointer).contains("compression pointer loop"));
    }
}
