//! Small helpers for the words and numbers that messages show people.

use std::time::Duration;

/// A duration for messages, rounded to the millisecond: `2s`, `1s 500ms`, not `1s 999ms 978us`.
pub fn rounded(duration: Duration) -> humantime::FormattedDuration {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    humantime::format_duration(Duration::from_millis(millis))
}

/// Milliseconds as people read them.
pub fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.0}ms")
    }
}
