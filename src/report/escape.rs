//! Text from the network or from a file (a server's message, a DNS TXT value, a baseline report)
//! made safe to show: control characters become visible escapes (`\x1b`), so they can neither
//! drive a terminal nor break a line-based format such as Nagios plugin output.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1) written as `\xNN` or `\u{NNNN}`; tabs
/// and newlines too, since every caller puts the text on one line.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

/// Appends `c`, or its visible escape when it is a control character.
pub fn push_visible(out: &mut String, c: char) {
    if c.is_control() {
        push_escape(out, c);
    } else {
        out.push(c);
    }
}

/// Appends the visible escape of `c`: `\x1b`, `\u{fffe}`.
pub fn push_escape(out: &mut String, c: char) {
    use std::fmt::Write as _;
    if (c as u32) < 0x100 {
        let _ = write!(out, "\\x{:02x}", c as u32);
    } else {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_and_the_rest_is_kept() {
        assert_eq!(visible("plain · text"), "plain · text");
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
        assert_eq!(visible("a\x1b[31mb\nc\u{85}"), "a\\x1b[31mb\\x0ac\\x85");
    }
}
