//! The vocabulary of verdicts: the status of a check, the stage that decided it, the error class
//! that says how, and why a check was skipped.

use std::fmt;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Observed, and it matches the requirement.
    Pass,
    /// Observed, and it contradicts the requirement.
    Fail,
    /// Could not observe; never reported as a pass or a fail.
    Error,
    /// Not run: filtered out, or the run's deadline ran out.
    Skip,
}

impl Status {
    /// The lowercase word used in every report.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stage of a check that decided its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Dns,
    Tcp,
    Tls,
    /// The proxy: connecting to it, and its CONNECT tunnel or SOCKS5 handshake.
    Proxy,
    /// Waiting for the response's first byte (its status line and headers).
    Ttfb,
    Http,
    /// The comparison of what was observed with what was expected.
    Assert,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dns => "dns",
            Stage::Tcp => "tcp",
            Stage::Tls => "tls",
            Stage::Proxy => "proxy",
            Stage::Ttfb => "ttfb",
            Stage::Http => "http",
            Stage::Assert => "assert",
        }
    }
}

/// Why a check could not observe, or how an observation went wrong, in reach's own vocabulary.
///
/// Library errors (io, resolver, TLS) are mapped into these in [`crate::classify`] only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The name does not exist.
    Nxdomain,
    /// The name exists but has no address of a usable family.
    NoData,
    /// The resolver answered with a failure (SERVFAIL, REFUSED, or a temporary failure).
    Servfail,
    /// No answer before the deadline.
    Timeout,
    /// The connection was refused (RST).
    Refused,
    /// An ICMP unreachable came back, or this host has no route to the target.
    Unreachable,
    /// This host's own policy (a local firewall, a missing address) stopped the probe.
    LocalPolicy,
    /// The run's deadline ran out before the check could finish.
    Deadline,
    /// The TLS peer sent an alert (it refused the handshake).
    TlsAlert,
    /// The TLS handshake broke in another way (bad message, incompatible peer).
    TlsHandshake,
    /// The certificate has expired.
    CertExpired,
    /// The certificate is not valid yet.
    CertNotYetValid,
    /// The chain does not lead to a trusted root (this includes self-signed certificates).
    CertUnknownIssuer,
    /// The chain ends in a certificate that signed itself and is not trusted.
    CertSelfSigned,
    /// The certificate does not name the host.
    CertWrongHost,
    /// The certificate was revoked.
    CertRevoked,
    /// The certificate is unusable for another reason (bad signature, bad encoding...).
    CertInvalid,
    /// The peer closed or reset the connection before answering.
    ConnectionClosed,
    /// The server answered with a 4xx status.
    Http4xx,
    /// The server answered with a 5xx status.
    Http5xx,
    /// The answer was not valid HTTP (or not the protocol that was expected).
    HttpProtocol,
    /// Redirects led back to a URL already visited.
    RedirectLoop,
    /// More redirects than reach follows.
    TooManyRedirects,
    /// The proxy refused the connection or the tunnel (403, 407, SOCKS5 rules or credentials).
    ProxyRefused,
    /// The proxy could not reach the target (502, 503, 504 to CONNECT; SOCKS5 replies 1, 3-6).
    ProxyUpstream,
    /// The API answered, and rejected the key (401/403).
    KeyRejected,
    /// A key had to be validated, and none was set in the environment.
    NoCredential,
    /// The server answered a WebSocket upgrade with something other than 101.
    UpgradeRefused,
    /// The body was longer than reach keeps, so a rule about it could not be judged.
    BodyTruncated,
    /// The DNS resolver refused the query (REFUSED): it will not answer for that name or client.
    ResolverRefused,
    /// The DNS resolver answered with another error code (FORMERR, NOTIMP...), or an answer
    /// that could not be used.
    DnsError,
    /// DNS servers that must agree gave different answers (split-horizon drift).
    DnsDrift,
    /// The name's alias (CNAME) chain loops back on itself: it leads to no record.
    CnameLoop,
    /// Anything else the operating system reported.
    Io,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Nxdomain => "nxdomain",
            ErrorClass::NoData => "nodata",
            ErrorClass::Servfail => "servfail",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Refused => "refused",
            ErrorClass::Unreachable => "unreachable",
            ErrorClass::LocalPolicy => "local-policy",
            ErrorClass::Deadline => "deadline",
            ErrorClass::TlsAlert => "tls-alert",
            ErrorClass::TlsHandshake => "tls-handshake",
            ErrorClass::CertExpired => "cert-expired",
            ErrorClass::CertNotYetValid => "cert-not-yet-valid",
            ErrorClass::CertUnknownIssuer => "cert-unknown-issuer",
            ErrorClass::CertSelfSigned => "cert-self-signed",
            ErrorClass::CertWrongHost => "cert-wrong-host",
            ErrorClass::CertRevoked => "cert-revoked",
            ErrorClass::CertInvalid => "cert-invalid",
            ErrorClass::ConnectionClosed => "connection-closed",
            ErrorClass::Http4xx => "http-4xx",
            ErrorClass::Http5xx => "http-5xx",
            ErrorClass::HttpProtocol => "http-protocol",
            ErrorClass::RedirectLoop => "redirect-loop",
            ErrorClass::TooManyRedirects => "too-many-redirects",
            ErrorClass::ProxyRefused => "proxy-refused",
            ErrorClass::ProxyUpstream => "proxy-upstream",
            ErrorClass::KeyRejected => "key-rejected",
            ErrorClass::NoCredential => "no-credential",
            ErrorClass::UpgradeRefused => "upgrade-refused",
            ErrorClass::BodyTruncated => "body-truncated",
            ErrorClass::ResolverRefused => "resolver-refused",
            ErrorClass::DnsError => "dns-error",
            ErrorClass::DnsDrift => "dns-drift",
            ErrorClass::CnameLoop => "cname-loop",
            ErrorClass::Io => "io",
        }
    }
}

/// Why a check was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// `--tag` selected other checks.
    TagFilter,
    /// `--vantage` selected another vantage point, or none was given for a vantage-bound check.
    VantageFilter,
    /// The run's deadline passed before the check started or finished.
    Deadline,
}

/// What a probe concluded from one attempt. A probe never skips a check (that is the runner's
/// decision), so a verdict is one of three, each with exactly the facts that belong to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Observed, and it matches; `stage` is the last stage the check went through.
    Pass { stage: Stage },
    /// Observed, and it contradicts the requirement at `stage`; `class` says how, where one
    /// applies (a port that must be closed and is open has none).
    Fail { stage: Stage, class: Option<ErrorClass> },
    /// Could not observe at `stage`, for the reason `class`.
    Error { stage: Stage, class: ErrorClass },
}

impl Verdict {
    pub fn status(self) -> Status {
        match self {
            Verdict::Pass { .. } => Status::Pass,
            Verdict::Fail { .. } => Status::Fail,
            Verdict::Error { .. } => Status::Error,
        }
    }

    pub fn stage(self) -> Stage {
        match self {
            Verdict::Pass { stage } | Verdict::Fail { stage, .. } | Verdict::Error { stage, .. } => stage,
        }
    }

    pub fn class(self) -> Option<ErrorClass> {
        match self {
            Verdict::Pass { .. } => None,
            Verdict::Fail { class, .. } => class,
            Verdict::Error { class, .. } => Some(class),
        }
    }
}
