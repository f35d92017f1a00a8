//! Splits a check file into its top part and one piece per `[[check]]` table, so that each piece
//! is parsed on its own and dropped once its checks are made. Parsing a whole file at once holds
//! every token, every parser event and every table of it together: about 1.8 KB per check, or
//! 180 MB for a file of 100,000 checks, where a piece at a time needs next to nothing.
//!
//! A file is split only when that cannot change what it means: its top-level keys and tables
//! (`profile`, `[vars]`, `[defaults]`) all come before the first `[[check]]`, and after it come
//! only `[[check]]` tables and their own subtables (`[check.expect]`). Anything else, and any
//! file the lexer finds odd, is parsed whole, as before; so is a file whose pieces do not parse
//! (the loader's fallback), so that its syntax errors read exactly as they always did.

use std::ops::Range;
use toml_parser::lexer::TokenKind;
use toml_parser::Source;

/// Byte ranges of a file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pieces {
    /// Everything before the first `[[check]]`.
    pub(super) top: Range<usize>,
    /// Each `[[check]]` table with its subtables, from its header to the next one.
    pub(super) checks: Vec<Range<usize>>,
}

/// The pieces of `text`, or `None` when it must be parsed whole.
pub(super) fn split(text: &str) -> Option<Pieces> {
    let source = Source::new(text);
    let mut tokens = source.lex().map(|t| (t.kind(), t.span().start()..t.span().end()));
    let mut starts: Vec<usize> = Vec::new();
    // Brackets and braces of values still open: a `[` that starts a line inside a multi-line
    // array is a value, not a table header.
    let mut depth = 0usize;
    let mut line_start = true;
    while let Some((kind, span)) = tokens.next() {
        match kind {
            TokenKind::Eof => break,
            TokenKind::Newline => line_start = depth == 0,
            TokenKind::Whitespace | TokenKind::Comment => {}
            TokenKind::LeftSquareBracket if line_start => {
                let header = header(&mut tokens, text)?;
                match (
                    header.path.first().map(String::as_str),
                    header.path.len(),
                    header.array,
                ) {
                    (Some("check"), 1, true) => starts.push(span.start),
                    // `[check]` (an error the whole parse reports), or `[check.x]` before any
                    // `[[check]]`: not a layout to split.
                    (Some("check"), 1, false) => return None,
                    (Some("check"), _, _) if starts.is_empty() => return None,
                    (Some("check"), _, _) => {}
                    // A top-level table after the checks have begun.
                    _ if !starts.is_empty() => return None,
                    _ => {}
                }
                line_start = false;
            }
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => {
                depth += 1;
                line_start = false;
            }
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.checked_sub(1)?;
                line_start = false;
            }
            _ => line_start = false,
        }
    }
    let first = *starts.first()?;
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    let checks = starts.iter().zip(ends).map(|(&start, end)| start..end).collect();
    Some(Pieces {
        top: 0..first,
        checks,
    })
}

/// A table header: its dotted key, and whether it is `[[...]]`.
struct Header {
    path: Vec<String>,
    array: bool,
}

/// Reads a header after its first `[`, up to its last `]`; `None` for anything unexpected.
fn header(tokens: &mut impl Iterator<Item = (TokenKind, Range<usize>)>, text: &str) -> Option<Header> {
    let mut path = Vec::new();
    let mut array = false;
    let mut first = true;
    loop {
        let (kind, span) = tokens.next()?;
        let raw = &text[span];
        match kind {
            TokenKind::LeftSquareBracket if first => array = true,
            TokenKind::Whitespace | TokenKind::Dot => {}
            // Bare keys; split on dots in case the lexer keeps a dotted key in one atom.
            TokenKind::Atom => path.extend(raw.split('.').filter(|s| !s.is_empty()).map(str::to_owned)),
            TokenKind::LiteralString => path.push(raw.trim_matches('\'').to_owned()),
            // An escape could spell `check` another way: leave such files to the whole parse.
            TokenKind::BasicString if !raw.contains('\\') => path.push(raw.trim_matches('"').to_owned()),
            TokenKind::RightSquareBracket => {
                if array {
                    let (kind, _) = tokens.next()?;
                    if kind != TokenKind::RightSquareBracket {
                        return None;
                    }
                }
                return Some(Header { path, array });
            }
            _ => return None,
        }
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Option<(String, Vec<String>)> {
        let pieces = split(text)?;
        let checks = pieces.checks.into_iter().map(|r| text[r].to_owned()).collect();
        Some((text[pieces.top].to_owned(), checks))
    }

    #[test]
    fn a_file_splits_into_its_top_and_one_piece_per_check_with_its_subtables() {
        let text = "profile = \"p\"\n[vars]\nx = \"[[check]]\"\n\n[[check]]\nkind = \"http\"\n\
                    [check.expect]\nstatus = 200\n  [[ check ]] # two\nkind = \"tcp\"\nports = [\n[1, 2],\n]\n";
        let (top, checks) = pieces(text).unwrap();
        assert_eq!(top, "profile = \"p\"\n[vars]\nx = \"[[check]]\"\n\n");
        assert_eq!(
            checks,
            [
                "[[check]]\nkind = \"http\"\n[check.expect]\nstatus = 200\n  ",
                "[[ check ]] # two\nkind = \"tcp\"\nports = [\n[1, 2],\n]\n",
            ]
        );
        let quoted = pieces("[[\"check\"]]\nkind = \"tcp\"\n[['check']]\n").unwrap();
        assert_eq!(quoted.1.len(), 2);
    }

    #[test]
    fn layouts_whose_meaning_a_split_could_change_are_parsed_whole() {
        // A top-level table after the first check, a `[check]` table, a subtable before any
        // check, a key in a multi-line string that only looks like a header, no check at all.
        assert_eq!(pieces("[[check]]\nkind = \"tcp\"\n[vars]\nx = 1\n"), None);
        assert_eq!(pieces("[check]\nkind = \"tcp\"\n"), None);
        assert_eq!(pieces("[check.expect]\nstatus = 1\n[[check]]\n"), None);
        assert_eq!(pieces("[[\"che\\u0063k\"]]\nkind = \"tcp\"\n"), None);
        assert_eq!(pieces("x = \"\"\"\n[[check]]\n\"\"\"\n"), None);
        assert_eq!(pieces("profile = \"p\"\n"), None);
    }
}
