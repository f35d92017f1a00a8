//! Spec errors that point at the place in a check file that caused them.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// One problem in a check file, located by file, line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The offending source line, for a caret display; empty when the whole file is at fault.
    pub excerpt: String,
    /// How many characters of the excerpt to underline (at least 1).
    pub width: usize,
    /// The variable whose missing value caused this error: `validate` lists such variables as
    /// needed instead of reporting the error, and `run` reports it.
    pub missing_var: Option<String>,
}

impl SpecError {
    /// An error about the file as a whole (cannot be read, no checks...).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        SpecError {
            file: file.to_owned(),
            line: 1,
            column: 1,
            message: message.into(),
            excerpt: String::new(),
            width: 1,
            missing_var: None,
        }
    }
}

/// What is wrong with a value: the words for the user, and the variable whose missing value
/// caused it, if that is the cause (then nothing else is wrong with the value as far as is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub message: String,
    pub missing_var: Option<String>,
}

impl Cause {
    /// A variable that has no value: the value that uses it cannot be checked.
    pub fn missing_var(name: &str, message: String) -> Self {
        Cause {
            message,
            missing_var: Some(name.to_owned()),
        }
    }
}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Cause {
            message,
            missing_var: None,
        }
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Self {
        Cause::from(message.to_owned())
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)?;
        if !self.excerpt.is_empty() {
            let gutter = self.line.to_string().len();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {:pad$}{}",
                "",
                self.line,
                self.excerpt,
                "",
                "",
                "^".repeat(self.width),
                pad = self.column - 1,
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// Every problem found in a set of check files; loading reports them all, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// Turns byte offsets in one file's text into [`SpecError`]s with line and column.
pub struct Locator<'a> {
    pub file: &'a str,
    pub text: &'a str,
    /// Byte offset of the start of every line after the first, so that locating an error is a
    /// binary search rather than a scan from the top (a 10,000-check file would be quadratic).
    line_starts: Cow<'a, [usize]>,
    /// Where in `text` the offsets it is given count from: a piece of the file parsed alone.
    base: usize,
}

impl<'a> Locator<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        let line_starts: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
        Locator {
            file,
            text,
            line_starts: Cow::Owned(line_starts),
            base: 0,
        }
    }

    /// A locator of the same file for offsets counted from `base`: those of a piece of the
    /// text that starts there.
    pub fn counting_from(&self, base: usize) -> Locator<'_> {
        Locator {
            file: self.file,
            text: self.text,
            line_starts: Cow::Borrowed(&self.line_starts),
            base: self.base + base,
        }
    }

    /// The line (from 1) of the byte at `offset`, as [`Locator::error`] would give it.
    pub fn line(&self, offset: usize) -> usize {
        self.line_at(floor_char_boundary(
            self.text,
            (offset + self.base).min(self.text.len()),
        ))
    }

    /// The line (from 1) of byte `start` of the whole text.
    fn line_at(&self, start: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= start) + 1
    }

    /// An error located at the start of `span`, underlining it up to the end of its line.
    pub fn error(&self, span: Range<usize>, cause: impl Into<Cause>) -> SpecError {
        let cause = cause.into();
        let span = span.start + self.base..span.end + self.base;
        let start = floor_char_boundary(self.text, span.start.min(self.text.len()));
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line = self.line_at(start);
        let column = self.text[line_start..start].chars().count() + 1;
        let excerpt = self.text[line_start..line_end].trim_end_matches('\r');
        let end = span.end.clamp(start, line_end);
        let width = self.text[start..floor_char_boundary(self.text, end)]
            .chars()
            .count()
            .max(1);
        SpecError {
            file: self.file.to_owned(),
            line,
            column,
            message: cause.message,
            excerpt: excerpt.to_owned(),
            width,
            missing_var: cause.missing_var,
        }
    }

    /// Converts a TOML syntax or type error, which carries its own span when it has one.
    pub fn toml(&self, error: &toml::de::Error, fallback: Range<usize>) -> SpecError {
        let span = error.span().unwrap_or(fallback);
        self.error(span, in_words(error.message().trim_end()))
    }
}

/// serde's words for what it expected, with the Rust names (`u32`, `struct RawHttpExpect`)
/// that mean nothing to someone writing a check file replaced by what they are in TOML.
fn in_words(message: &str) -> String {
    use std::sync::OnceLock;
    static RULES: OnceLock<Vec<(regex_lite::Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            // An array where a table belongs: serde counts its elements against the struct's.
            (
                r"invalid length \d+, expected (struct \w+|a table[^,]*) with \d+ elements?",
                "invalid type: array, expected a table",
            ),
            (r"expected struct \w+", "expected a table"),
            (r"expected enum \w+", "expected one of the listed values"),
            (
                r"expected (u8|u16|u32|u64|u128|usize)\b",
                "expected a whole number, 0 or more",
            ),
            (
                r"expected (i8|i16|i32|i64|i128|isize)\b",
                "expected a whole number",
            ),
            (r"expected (f32|f64)\b", "expected a number"),
            (r"expected char\b", "expected a single character"),
        ]
        .into_iter()
        .filter_map(|(pattern, words)| Some((regex_lite::Regex::new(pattern).ok()?, words)))
        .collect()
    });
    let mut text = message.to_owned();
    for (pattern, words) in rules {
        text = pattern.replace_all(&text, *words).into_owned();
    }
    text
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column_from_byte_offsets() {
        let text = "a = 1\nbb = \"x\"\n";
        let locator = Locator::new("f.toml", text);
        let error = locator.error(11..14, "bad");
        assert_eq!((error.line, error.column, error.width), (2, 6, 3));
        assert_eq!(
            error.to_string(),
            "f.toml:2:6: bad\n  |\n2 | bb = \"x\"\n  |      ^^^"
        );
    }

    #[test]
    fn rust_type_names_become_toml_words() {
        assert_eq!(
            in_words("invalid type: string \"x\", expected u32"),
            "invalid type: string \"x\", expected a whole number, 0 or more"
        );
        assert_eq!(
            in_words("invalid value: integer `-1`, expected i64"),
            "invalid value: integer `-1`, expected a whole number"
        );
        assert_eq!(
            in_words("invalid type: integer `5`, expected struct RawHttpExpect"),
            "invalid type: integer `5`, expected a table"
        );
        assert_eq!(
            in_words("invalid length 1, expected struct RawHttpExpect with 9 elements"),
            "invalid type: array, expected a table"
        );
        assert_eq!(in_words("unknown field `x`"), "unknown field `x`");
    }

    #[test]
    fn an_offset_past_the_end_points_at_the_last_line() {
        let locator = Locator::new("f.toml", "a = 1");
        let error = locator.error(99..100, "eof");
        assert_eq!((error.line, error.column), (1, 6));
    }
}
