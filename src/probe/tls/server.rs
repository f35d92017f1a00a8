//! What the protocol checks know of the server they probe: its enumeration, the newest version
//! before TLS 1.3, and the TLS 1.3 resumption probe that two checks share.

use super::enumerate::Enumerator;
use super::wire::ProbeError;
use crate::outcome::{VersionResult, VersionState};
use crate::tls::codec::Hello;
use crate::tls::Version;

/// The newest accepted version below TLS 1.3, with its accepted suites.
#[derive(Debug, Clone)]
pub struct Legacy {
    pub version: Version,
    pub suites: Vec<u16>,
}

/// What the checks need to know of the server.
pub struct Server<'a> {
    pub enumerator: &'a Enumerator,
    pub versions: &'a [VersionResult],
    /// The name to send in SNI and resume sessions for (the address for a bare IP).
    pub server_name: rustls::pki_types::ServerName<'static>,
    /// The TLS 1.3 resumption probe, shared by the checks that need it.
    pub tls13: tokio::sync::OnceCell<Result<Tls13Seen, ProbeError>>,
}

impl Server<'_> {
    pub fn accepted(&self) -> Vec<&VersionResult> {
        self.versions
            .iter()
            .filter(|v| v.state == VersionState::Accepted)
            .collect()
    }

    pub fn legacy(&self) -> Option<Legacy> {
        self.accepted()
            .into_iter()
            .rev()
            .find(|v| v.version != Version::Tls13 && !v.suites.is_empty())
            .map(|v| Legacy {
                version: v.version,
                suites: v.suites.iter().map(|s| s.code).collect(),
            })
    }

    pub fn speaks(&self, version: Version) -> bool {
        self.accepted().iter().any(|v| v.version == version)
    }

    pub fn hello<'b>(&'b self, legacy: &'b Legacy) -> Hello<'b> {
        Hello::new(
            legacy.version,
            &legacy.suites,
            self.enumerator.sni.as_deref(),
            self.enumerator.random(),
        )
    }
}

/// What the two TLS 1.3 connections of the resumption probe showed.
#[derive(Debug, Clone)]
pub struct Tls13Seen {
    pub tickets: usize,
    pub max_early_data: u32,
    pub resumed: bool,
    pub early_accepted: bool,
}
