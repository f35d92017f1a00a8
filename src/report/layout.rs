//! Fitting the human reports to a width: the display width of text (the report's own colour
//! sequences take none), cutting a cell at its end or in its middle with `…`, and wrapping a
//! long line under its own indentation. Every human report passes through [`fit`] last, so no
//! line is wider than the width it was given.

use unicode_width::UnicodeWidthChar;

/// The width when stdout is not a terminal (a pipe, a file): wide enough for a whole row, narrow
/// enough for a log viewer or a mail.
pub const PIPE_WIDTH: usize = 200;
/// Narrower widths are taken as this: below it no table can be read anyway.
pub const MIN_WIDTH: usize = 40;

/// The columns a string takes on a terminal. The only escape sequences in a report are its own
/// colours (`\x1b[...m`; text from outside is made visible first), which take none.
pub fn width_of(text: &str) -> usize {
    let mut width = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            width += c.width().unwrap_or(0);
        }
    }
    width
}

fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// `text` cut to at most `max` columns, its end replaced by `…`.
pub fn cut_end(text: &str, max: usize) -> String {
    if width_of(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + char_width(c) > max - 1 {
            break;
        }
        used += char_width(c);
        kept.push(c);
    }
    kept.push('…');
    kept
}

/// `text` cut to at most `max` columns, its middle replaced by `…`: a long host name keeps its
/// start and its end, and a target keeps its port.
pub fn cut_middle(text: &str, max: usize) -> String {
    if width_of(text) <= max {
        return text.to_owned();
    }
    if max < 3 {
        return cut_end(text, max);
    }
    let room = max - 1;
    let tail_room = room / 2;
    let head_room = room - tail_room;
    let mut head = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + char_width(c) > head_room {
            break;
        }
        used += char_width(c);
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        if used + char_width(c) > tail_room {
            break;
        }
        used += char_width(c);
        tail.push(c);
    }
    tail.reverse();
    let tail: String = tail.into_iter().collect();
    format!("{head}…{tail}")
}

/// `text` padded with spaces to `width` columns.
pub fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(width_of(text));
    format!("{text}{}", " ".repeat(fill))
}

/// Every line of `text` at most `width` columns wide: longer lines are wrapped (see [`wrap`]).
pub fn fit(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let mut pieces = wrap(body, width).into_iter().peekable();
        while let Some(piece) = pieces.next() {
            out.push_str(&piece);
            if pieces.peek().is_some() {
                out.push('\n');
            }
        }
        out.push_str(newline);
    }
    out
}

/// One line as lines of at most `width` columns. Breaks fall between words; the lines after the
/// first are indented two columns more than the first, so a wrapped message stays under its
/// bullet (`└ `, `✗ `) and apart from the next row. A word longer than a whole line is split.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    if width_of(line) <= width {
        return vec![line.to_owned()];
    }
    let indent = line.len() - line.trim_start_matches(' ').len();
    let hanging = (indent + 2).min(width / 2);
    let mut lines = Vec::new();
    let mut current = " ".repeat(indent);
    let mut current_width = indent;
    // Whether `current` holds a word yet (not only its indentation).
    let mut started = false;
    let mut rest = &line[indent..];
    while !rest.is_empty() {
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        let after = &rest[spaces..];
        let word_end = after.find(' ').unwrap_or(after.len());
        let word = &after[..word_end];
        rest = &after[word_end..];
        if word.is_empty() {
            break;
        }
        let word_width = width_of(word);
        if started && current_width + spaces + word_width <= width {
            current.push_str(&" ".repeat(spaces));
            current.push_str(word);
            current_width += spaces + word_width;
            continue;
        }
        if started {
            lines.push(std::mem::take(&mut current));
            current = " ".repeat(hanging);
            current_width = hanging;
        }
        started = true;
        // The word starts the line; split it where it is wider than what is left.
        let mut content = false;
        for c in split_keeping_escapes(word) {
            let w = width_of(&c);
            if content && current_width + w > width {
                lines.push(std::mem::take(&mut current));
                current = " ".repeat(hanging);
                current_width = hanging;
            }
            current.push_str(&c);
            current_width += w;
            content = true;
        }
    }
    lines.push(current);
    lines
}

/// A word as pieces of one character each, a colour sequence kept whole with the character it
/// precedes.
fn split_keeping_escapes(word: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut pending = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        pending.push(c);
        if c == '\x1b' {
            for c in chars.by_ref() {
                pending.push(c);
                if c == 'm' {
                    break;
                }
            }
            continue;
        }
        pieces.push(std::mem::take(&mut pending));
    }
    if !pending.is_empty() {
        match pieces.last_mut() {
            Some(last) => last.push_str(&pending),
            None => pieces.push(pending),
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_take_no_width_and_wide_characters_take_two() {
        assert_eq!(width_of("\x1b[1;31mFAIL\x1b[0m"), 4);
        assert_eq!(width_of("└ a…"), 4);
        assert_eq!(width_of("日本"), 4);
    }

    #[test]
    fn cells_are_cut_at_the_end_or_in_the_middle() {
        assert_eq!(cut_end("abcdef", 4), "abc…");
        assert_eq!(cut_end("abc", 4), "abc");
        assert_eq!(
            cut_middle("a-very-long-host-name.example.test:8443", 21),
            "a-very-lon….test:8443"
        );
        assert_eq!(
            width_of(&cut_middle("a-very-long-host-name.example.test:8443", 21)),
            21
        );
        assert_eq!(cut_middle("short:1", 21), "short:1");
        assert_eq!(width_of(&cut_middle("日本語のホスト名:443", 9)), 9);
    }

    #[test]
    fn long_lines_wrap_under_their_indentation() {
        let line = "  └ shop.toml:6  must be exactly 192.0.2.10 but is 192.0.2.11 (answer from 127.0.0.1:53)";
        let wrapped = wrap(line, 40);
        assert_eq!(
            wrapped,
            [
                "  └ shop.toml:6  must be exactly",
                "    192.0.2.10 but is 192.0.2.11 (answer",
                "    from 127.0.0.1:53)",
            ]
        );
        assert!(wrapped.iter().all(|l| width_of(l) <= 40));
        assert_eq!(wrap("short", 40), ["short"]);
    }

    #[test]
    fn a_word_wider_than_the_line_is_split() {
        let word = "x".repeat(50);
        let wrapped = wrap(&format!("  {word}"), 20);
        assert!(wrapped.iter().all(|l| width_of(l) <= 20), "{wrapped:?}");
        assert_eq!(wrapped.concat().replace(' ', ""), word);
    }

    #[test]
    fn fit_keeps_short_lines_and_the_final_newline() {
        let text = format!("short\n{}\n\nend\n", "word ".repeat(30));
        let fitted = fit(&text, 30);
        assert!(fitted.ends_with("\n\nend\n"), "{fitted}");
        assert!(fitted.lines().all(|l| width_of(l) <= 30), "{fitted}");
        assert_eq!(fitted.split_whitespace().count(), text.split_whitespace().count());
    }

    #[test]
    fn a_coloured_line_wraps_by_what_shows() {
        let line = format!("\x1b[2m{}\x1b[0m", "word ".repeat(20).trim_end());
        for piece in wrap(&line, 30) {
            assert!(width_of(&piece) <= 30, "{piece:?}");
        }
    }
}
