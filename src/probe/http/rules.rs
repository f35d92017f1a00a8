//! The expectations on an answer's headers and body, one rule at a time. Header values are
//! compared as bytes (a value with non-ASCII bytes is still a value) and shown lossily; a body
//! longer than reach keeps is never judged as if it were whole.

use super::exchange::KEPT_BODY;
use crate::spec::request::{BodyRule, HeaderRule, HeaderTest};

/// Why a rule does not hold, or why it could not be judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The answer contradicts the rule.
    Violated(String),
    /// The rule needs what reach did not keep (the rest of a cut body).
    Unjudged(String),
}

/// What is wrong with the answer's headers under `rule`, if anything.
pub fn header_problem(rule: &HeaderRule, headers: &http::HeaderMap) -> Option<String> {
    let values: Vec<&[u8]> = headers
        .get_all(rule.name.as_str())
        .iter()
        .map(http::HeaderValue::as_bytes)
        .collect();
    let shown = || {
        values
            .iter()
            .map(|v| String::from_utf8_lossy(v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = &rule.name;
    match &rule.test {
        HeaderTest::Present => values.is_empty().then(|| format!("header {name} is missing")),
        HeaderTest::Absent => (!values.is_empty()).then(|| format!("header {name} is present ({})", shown())),
        _ if values.is_empty() => Some(format!("header {name} is missing")),
        HeaderTest::Equals(wanted) => (!values.iter().any(|v| v.trim_ascii() == wanted.as_bytes()))
            .then(|| format!("header {name} is `{}` (expected `{wanted}`)", shown())),
        HeaderTest::Matches(pattern) => (!values
            .iter()
            .any(|v| pattern.0.is_match(&String::from_utf8_lossy(v))))
        .then(|| {
            format!(
                "header {name} is `{}`, which does not match /{}/",
                shown(),
                pattern.0.as_str()
            )
        }),
        HeaderTest::MaxAgeAtLeast(min) => {
            let age = values.iter().find_map(|v| max_age(&String::from_utf8_lossy(v)));
            match age {
                Some(age) if age >= *min => None,
                Some(age) => Some(format!(
                    "header {name} has max-age={age} (expected at least {min})"
                )),
                None => Some(format!("header {name} has no max-age directive")),
            }
        }
    }
}

/// The `max-age=N` directive of a header value such as Strict-Transport-Security.
pub fn max_age(value: &str) -> Option<u64> {
    value.split([';', ',']).find_map(|directive| {
        let (key, number) = directive.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| number.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

/// What is wrong with the body under `rule`. `body` is what was kept; `truncated` says the
/// answer had more (`total` bytes in all).
pub fn body_problem(rule: &BodyRule, body: &[u8], truncated: bool, total: u64) -> Option<Problem> {
    let cut = || {
        format!(
            "the body is {total} bytes and reach keeps the first {} KiB",
            KEPT_BODY / 1024
        )
    };
    let text = String::from_utf8_lossy(body);
    match rule {
        // Found in the kept part means found in the whole body: that pass is sound.
        BodyRule::Contains(wanted) if text.contains(wanted.as_str()) => None,
        BodyRule::Contains(wanted) if truncated => Some(Problem::Unjudged(format!(
            "{}, which do not contain `{wanted}`: the rest was not checked",
            cut()
        ))),
        BodyRule::Contains(wanted) => Some(Problem::Violated(format!("body does not contain `{wanted}`"))),
        // A match (or none) in a cut body says nothing: anchors and word boundaries move.
        BodyRule::Matches(pattern) if truncated => Some(Problem::Unjudged(format!(
            "{}: /{}/ cannot be judged on part of it",
            cut(),
            pattern.0.as_str()
        ))),
        BodyRule::Matches(pattern) => (!pattern.0.is_match(&text))
            .then(|| Problem::Violated(format!("body does not match /{}/", pattern.0.as_str()))),
        BodyRule::JsonEquals { pointer, .. } if truncated => Some(Problem::Unjudged(format!(
            "{}: its JSON at `{pointer}` cannot be read from part of it",
            cut()
        ))),
        BodyRule::JsonEquals { pointer, value } => {
            let parsed: serde_json::Value = match serde_json::from_slice(body) {
                Ok(parsed) => parsed,
                Err(e) => return Some(Problem::Violated(format!("body is not JSON ({e})"))),
            };
            match parsed.pointer(pointer) {
                None => Some(Problem::Violated(format!(
                    "body has nothing at JSON pointer `{pointer}`"
                ))),
                Some(found) if json_equal(found, value) => None,
                Some(found) => Some(Problem::Violated(format!(
                    "body at `{pointer}` is {found} (expected {value})"
                ))),
            }
        }
    }
}

/// JSON equality where `1` and `1.0` are the same number (TOML writes them differently).
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a, b) {
        (serde_json::Value::Number(x), serde_json::Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::request::Pattern;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, http::HeaderValue::from_static(v));
        }
        map
    }

    fn rule(name: &str, test: HeaderTest) -> HeaderRule {
        HeaderRule {
            name: name.into(),
            test,
        }
    }

    fn violated(problem: Option<Problem>) -> String {
        match problem {
            Some(Problem::Violated(text)) => text,
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn hsts_max_age_is_read_from_its_directives() {
        assert_eq!(max_age("max-age=31536000; includeSubDomains"), Some(31_536_000));
        assert_eq!(max_age("includeSubDomains; Max-Age=\"60\""), Some(60));
        assert_eq!(max_age("includeSubDomains"), None);
        let hsts = headers(&[("strict-transport-security", "max-age=300")]);
        let problem = header_problem(
            &rule("strict-transport-security", HeaderTest::MaxAgeAtLeast(31_536_000)),
            &hsts,
        );
        assert!(problem.unwrap().contains("max-age=300"));
        assert!(header_problem(
            &rule("strict-transport-security", HeaderTest::MaxAgeAtLeast(300)),
            &hsts
        )
        .is_none());
        assert!(header_problem(&rule("server", HeaderTest::Absent), &hsts).is_none());
        let pattern = Pattern(regex_lite::Regex::new("^max-age=\\d+$").unwrap());
        assert!(header_problem(
            &rule("strict-transport-security", HeaderTest::Matches(pattern)),
            &hsts
        )
        .is_none());
    }

    #[test]
    fn a_header_with_non_ascii_bytes_is_present_and_compared_as_bytes() {
        let mut map = http::HeaderMap::new();
        map.append(
            "x-name",
            http::HeaderValue::from_bytes("Zürich".as_bytes()).unwrap(),
        );
        map.append("x-raw", http::HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(header_problem(&rule("x-name", HeaderTest::Present), &map), None);
        assert_eq!(
            header_problem(&rule("x-name", HeaderTest::Equals("Zürich".into())), &map),
            None
        );
        let absent = header_problem(&rule("x-raw", HeaderTest::Absent), &map).unwrap();
        assert!(absent.contains("is present (caf\u{fffd})"), "{absent}");
        let wrong = header_problem(&rule("x-name", HeaderTest::Equals("Bern".into())), &map).unwrap();
        assert!(wrong.contains("`Zürich`"), "{wrong}");
    }

    #[test]
    fn json_pointers_compare_numbers_by_value() {
        let body = br#"{"status": "ok", "checks": {"db": 1.0}}"#;
        let rule = |pointer: &str, value: serde_json::Value| BodyRule::JsonEquals {
            pointer: pointer.into(),
            value,
        };
        let len = body.len() as u64;
        assert!(body_problem(&rule("/status", "ok".into()), body, false, len).is_none());
        assert!(body_problem(&rule("/checks/db", 1.into()), body, false, len).is_none());
        assert!(violated(body_problem(&rule("/status", "down".into()), body, false, len)).contains("\"ok\""));
        assert!(violated(body_problem(&rule("/nope", 1.into()), body, false, len)).contains("nothing at"));
        assert!(violated(body_problem(&rule("/status", 1.into()), b"<html>", false, 6)).contains("not JSON"));
    }

    #[test]
    fn rules_on_a_cut_body_say_so_instead_of_passing_or_failing() {
        let kept = b"{\"status\": \"ok\", \"padding\": \"";
        let total = 5 * 1024 * 1024;
        let contains = |s: &str| BodyRule::Contains(s.into());
        assert_eq!(
            body_problem(&contains("status"), kept, true, total),
            None,
            "found is found"
        );
        let unjudged = body_problem(&contains("the end"), kept, true, total);
        assert!(
            matches!(&unjudged, Some(Problem::Unjudged(t)) if t.contains("5242880 bytes")),
            "{unjudged:?}"
        );
        let pattern = BodyRule::Matches(Pattern(regex_lite::Regex::new("status").unwrap()));
        assert!(matches!(
            body_problem(&pattern, kept, true, total),
            Some(Problem::Unjudged(_))
        ));
        let json = BodyRule::JsonEquals {
            pointer: "/status".into(),
            value: "ok".into(),
        };
        assert!(matches!(
            body_problem(&json, kept, true, total),
            Some(Problem::Unjudged(_))
        ));
    }
}
