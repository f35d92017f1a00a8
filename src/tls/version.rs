//! The protocol versions reach can probe, with their wire numbers and the spellings people use.

use std::fmt;

/// A protocol version reach can probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl Version {
    /// Oldest first.
    pub const ALL: [Version; 5] = [
        Version::Ssl3,
        Version::Tls10,
        Version::Tls11,
        Version::Tls12,
        Version::Tls13,
    ];

    /// The name used in reports (OpenSSL's spelling, with TLS 1.0 spelled out).
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Ssl3 => "SSLv3",
            Version::Tls10 => "TLSv1.0",
            Version::Tls11 => "TLSv1.1",
            Version::Tls12 => "TLSv1.2",
            Version::Tls13 => "TLSv1.3",
        }
    }

    /// The version number on the wire.
    pub fn wire(self) -> u16 {
        match self {
            Version::Ssl3 => 0x0300,
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
            Version::Tls13 => 0x0304,
        }
    }

    pub fn from_wire(wire: u16) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.wire() == wire)
    }

    /// Accepts the spellings of nginx's `ssl_protocols` (`TLSv1`, `TLSv1.2`), reach's own
    /// (`TLSv1.0`), and lowercase or dotted forms (`tls1.2`, `1.2`, `sslv3`).
    pub fn parse(text: &str) -> Option<Version> {
        let lower = text.trim().to_ascii_lowercase();
        let bare = lower
            .strip_prefix("tlsv")
            .or_else(|| lower.strip_prefix("tls"))
            .unwrap_or(&lower);
        match bare {
            "sslv3" | "ssl3" | "ssl3.0" | "sslv3.0" => Some(Version::Ssl3),
            "1" | "1.0" | "10" => Some(Version::Tls10),
            "1.1" | "11" => Some(Version::Tls11),
            "1.2" | "12" => Some(Version::Tls12),
            "1.3" | "13" => Some(Version::Tls13),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_in_nginx_and_report_spellings() {
        assert_eq!(Version::parse("TLSv1"), Some(Version::Tls10));
        assert_eq!(Version::parse("TLSv1.0"), Some(Version::Tls10));
        assert_eq!(Version::parse("tls1.2"), Some(Version::Tls12));
        assert_eq!(Version::parse("TLSv1.3"), Some(Version::Tls13));
        assert_eq!(Version::parse("SSLv3"), Some(Version::Ssl3));
        assert_eq!(Version::parse("TLSv1.4"), None);
        for v in Version::ALL {
            assert_eq!(Version::parse(v.as_str()), Some(v));
            assert_eq!(Version::from_wire(v.wire()), Some(v));
        }
    }
}
