//! The protocol checks a TLS audit runs beside enumeration (the ones sslyze runs), by the names a
//! policy's `require` and `deny` use.

use std::fmt;

/// One protocol behaviour of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// TLS-level compression is negotiated (CRIME).
    Compression,
    /// A hello for a lower version carrying TLS_FALLBACK_SCSV is refused (RFC 7507).
    FallbackScsv,
    /// The server speaks RFC 5746 renegotiation_info.
    SecureRenegotiation,
    /// The server accepts a renegotiation the client starts.
    ClientRenegotiation,
    /// The server answers a heartbeat whose length lies with more bytes than were sent.
    Heartbleed,
    /// The server accepts a ChangeCipherSpec before the keys exist (CVE-2014-0224).
    CcsInjection,
    /// A TLS 1.2 session is resumed from its session ID.
    SessionIdResumption,
    /// A session is resumed from a ticket (TLS 1.2; TLS 1.3 for a server that speaks nothing else).
    TicketResumption,
    /// TLS 1.3 0-RTT data is accepted.
    EarlyData,
    /// TLS 1.2 and below: the server agrees to the extended master secret (RFC 7627).
    ExtendedMasterSecret,
}

impl Feature {
    pub const ALL: &'static [Feature] = &[
        Feature::Compression,
        Feature::FallbackScsv,
        Feature::SecureRenegotiation,
        Feature::ClientRenegotiation,
        Feature::Heartbleed,
        Feature::CcsInjection,
        Feature::SessionIdResumption,
        Feature::TicketResumption,
        Feature::EarlyData,
        Feature::ExtendedMasterSecret,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Compression => "compression",
            Feature::FallbackScsv => "fallback_scsv",
            Feature::SecureRenegotiation => "secure_renegotiation",
            Feature::ClientRenegotiation => "client_renegotiation",
            Feature::Heartbleed => "heartbleed",
            Feature::CcsInjection => "ccs_injection",
            Feature::SessionIdResumption => "session_id_resumption",
            Feature::TicketResumption => "ticket_resumption",
            Feature::EarlyData => "early_data",
            Feature::ExtendedMasterSecret => "extended_master_secret",
        }
    }

    /// The names above; `-` for `_` too.
    pub fn parse(text: &str) -> Option<Feature> {
        let text = text.trim().to_ascii_lowercase().replace('-', "_");
        Feature::ALL.iter().copied().find(|f| f.as_str() == text)
    }

    /// The list of names, for error messages.
    pub fn names() -> String {
        Feature::ALL
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for feature in Feature::ALL {
            assert_eq!(Feature::parse(feature.as_str()), Some(*feature));
        }
        assert_eq!(Feature::parse("Fallback-SCSV"), Some(Feature::FallbackScsv));
        assert_eq!(Feature::parse("robot"), None);
    }
}
