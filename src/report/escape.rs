//! The one escaping function of the human reports: whatever reaches them from outside is shown
//! with its control characters as visible escapes, at render time.

use std::fmt::Write as _;

/// `text` as a terminal shows it harmlessly: control characters (C0, DEL, C1) and the Unicode
/// marks that reorder or hide text are written as visible escapes (`\x1b`, `\n`, `\u{202e}`).
///
/// Whatever reaches a human report from outside (a check's name, a DNS TXT record, a
/// certificate's subject, an HTTP header, a process name from /proc, an error's text) goes
/// through here at render time, so a hostile value can neither drive the terminal nor forge a
/// line of the report. The JSON report keeps every value exact.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hidden(c) && u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Appends the visible escape of `c` as a numeric escape (`\x1b`, `\u{fffe}`), for formats
/// whose own quoting handles the rest (JUnit XML: characters XML cannot carry).
pub fn push_escape(out: &mut String, c: char) {
    let code = u32::from(c);
    if code < 0x100 {
        let _ = write!(out, "\\x{code:02x}");
    } else {
        let _ = write!(out, "\\u{{{code:x}}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(visible("plain, ünïcode"), "plain, ünïcode");
        assert_eq!(visible("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(visible("line\nforged\r\t\x7f"), "line\\nforged\\r\\t\\x7f");
        assert_eq!(visible("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(visible("abc\u{202e}fed"), "abc\\u{202e}fed");
    }
}
