//! Checkpoints of one exchange on one monotonic clock. Every stage timing is derived from two
//! of them, so no stage can absorb another's time (a CONNECT tunnel is not TCP time) and a stage
//! that did not happen for this request (a reused connection has no dns, tcp or tls) is absent.

use crate::outcome::Timings;
use std::time::Instant;

/// The instants of one request and the connection it opened, if it opened one. A stage that
/// failed is marked where it failed, so its timing says how long it ran before it did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoints {
    pub dns_start: Option<Instant>,
    pub dns_end: Option<Instant>,
    /// The first TCP attempt began / one succeeded (to the proxy, through one).
    pub connect_start: Option<Instant>,
    pub connect_end: Option<Instant>,
    /// The proxy's CONNECT answer (2xx) or SOCKS5 reply arrived.
    pub proxy_end: Option<Instant>,
    pub tls_end: Option<Instant>,
    /// Just before the request was handed to the connection (curl's "pretransfer").
    pub request_start: Option<Instant>,
    /// The response head was parsed (HTTP/1.1 and HTTP/2 alike).
    pub first_byte: Option<Instant>,
    /// The body ended.
    pub last_byte: Option<Instant>,
}

/// The current instant, for a checkpoint.
pub fn now() -> Option<Instant> {
    Some(Instant::now())
}

fn span(from: Option<Instant>, to: Option<Instant>) -> Option<std::time::Duration> {
    Some(to?.saturating_duration_since(from?))
}

impl Checkpoints {
    /// The stages, each from the end of the one before it.
    pub fn timings(&self) -> Timings {
        Timings {
            dns: span(self.dns_start, self.dns_end),
            tcp: span(self.connect_start, self.connect_end),
            proxy: span(self.connect_end, self.proxy_end),
            tls: span(self.proxy_end.or(self.connect_end), self.tls_end),
            ttfb: span(self.request_start, self.first_byte),
        }
    }

    /// The connection's checkpoints only (for a request that reuses nothing of another's).
    pub fn connection(&self) -> Checkpoints {
        Checkpoints {
            request_start: None,
            first_byte: None,
            last_byte: None,
            ..*self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stages_start_where_the_previous_one_ended() {
        let t0 = Instant::now();
        let at = |ms: u64| Some(t0 + Duration::from_millis(ms));
        let clock = Checkpoints {
            dns_start: at(0),
            dns_end: at(5),
            connect_start: at(5),
            connect_end: at(6),
            proxy_end: at(306),
            tls_end: at(320),
            request_start: at(321),
            first_byte: at(400),
            last_byte: at(401),
        };
        let t = clock.timings();
        assert_eq!(t.dns, Some(Duration::from_millis(5)));
        assert_eq!(
            t.tcp,
            Some(Duration::from_millis(1)),
            "CONNECT time is not TCP time"
        );
        assert_eq!(t.proxy, Some(Duration::from_millis(300)));
        assert_eq!(t.tls, Some(Duration::from_millis(14)));
        assert_eq!(t.ttfb, Some(Duration::from_millis(79)));
        let direct = Checkpoints {
            proxy_end: None,
            ..clock
        };
        assert_eq!(direct.timings().proxy, None);
        assert_eq!(direct.timings().tls, Some(Duration::from_millis(314)));
        let reused = Checkpoints {
            request_start: at(0),
            first_byte: at(2),
            ..Checkpoints::default()
        };
        assert_eq!(reused.timings().tcp, None);
        assert_eq!(reused.timings().ttfb, Some(Duration::from_millis(2)));
    }
}
