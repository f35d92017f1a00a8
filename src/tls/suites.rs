//! Finding suites in the table: by OpenSSL or IANA name, by code point, and whole cipher lists
//! as nginx's `ssl_ciphers` writes them.

use super::suite::Suite;
use super::suite_table::SUITES;

impl Suite {
    /// Looks a suite up by OpenSSL or IANA name (case-insensitive; `SSL_` for `TLS_` too) or by
    /// hex code point (`0xC02F`).
    pub fn by_name(name: &str) -> Option<Suite> {
        let name = name.trim();
        if let Some(hex) = name.strip_prefix("0x").or_else(|| name.strip_prefix("0X")) {
            return u16::from_str_radix(hex, 16).ok().and_then(Suite::by_code);
        }
        let as_tls = name
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("SSL_"))
            .map(|_| format!("TLS_{}", &name[4..]));
        SUITES.iter().copied().find(|s| {
            let matches = |candidate: &str| {
                s.openssl.is_some_and(|o| o.eq_ignore_ascii_case(candidate))
                    || s.iana.is_some_and(|i| i.eq_ignore_ascii_case(candidate))
            };
            matches(name) || as_tls.as_deref().is_some_and(matches)
        })
    }

    pub fn by_code(code: u16) -> Option<Suite> {
        SUITES.iter().copied().find(|s| s.code == code)
    }

    /// The whole table, strongest first (OpenSSL's order).
    pub fn all() -> &'static [Suite] {
        SUITES
    }
}

/// Parses a cipher list as written in nginx's `ssl_ciphers` (`A:B:C`, also `,` or spaces) or as
/// separate items. Every item must name one suite: OpenSSL's cipher-string keywords (`HIGH`,
/// `!aNULL`) are refused, since a requirement must name the exact suites.
pub fn parse_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<Suite>, String> {
    let mut suites: Vec<Suite> = Vec::new();
    for item in items {
        for name in item.split([':', ',', ' ']).filter(|n| !n.is_empty()) {
            let suite = Suite::by_name(name).ok_or_else(|| {
                format!("unknown cipher suite `{name}`: use an OpenSSL name (ECDHE-RSA-AES128-GCM-SHA256), an IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or a code point (0xC02F)")
            })?;
            if !suites.contains(&suite) {
                suites.push(suite);
            }
        }
    }
    Ok(suites)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::WeakClass;
    use std::collections::HashMap;

    #[test]
    fn the_table_covers_the_registry_with_unique_code_points() {
        let all = Suite::all();
        assert!(all.len() > 340, "{} suites", all.len());
        let mut seen = HashMap::new();
        for suite in all {
            assert!(seen.insert(suite.code, suite).is_none(), "{} twice", suite.hex());
        }
        assert_eq!(all.iter().filter(|s| s.is_tls13()).count(), 5);
    }

    #[test]
    fn names_round_trip_through_both_vocabularies() {
        for suite in Suite::all() {
            assert_eq!(Suite::by_code(suite.code), Some(*suite));
            assert_eq!(Suite::by_name(&suite.hex()), Some(*suite));
            if let Some(openssl) = suite.openssl() {
                assert_eq!(
                    Suite::by_name(openssl).map(|s| s.code),
                    Some(suite.code),
                    "{openssl}"
                );
            }
            // Two FIPS code points share one IANA name; the first wins.
            if !suite.iana().contains("FIPS") {
                assert_eq!(
                    Suite::by_name(suite.iana()).map(|s| s.code),
                    Some(suite.code),
                    "{}",
                    suite.iana()
                );
            }
        }
        let gcm = Suite::by_name("ECDHE-RSA-AES128-GCM-SHA256").unwrap();
        assert_eq!(
            (gcm.code, gcm.iana()),
            (0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(
            Suite::by_name("ssl_rsa_with_3des_ede_cbc_sha").unwrap().code,
            0x000A
        );
        assert_eq!(Suite::by_name("DES-CBC3-SHA").unwrap().code, 0x000A);
    }

    #[test]
    fn classes_describe_the_classic_weaknesses() {
        let three_des = Suite::by_name("DES-CBC3-SHA").unwrap();
        for class in [
            WeakClass::TripleDes,
            WeakClass::Cbc,
            WeakClass::RsaKx,
            WeakClass::Sha1,
            WeakClass::Weak,
        ] {
            assert!(three_des.has_class(class), "{class:?}");
        }
        let gcm = Suite::by_name("ECDHE-ECDSA-AES128-GCM-SHA256").unwrap();
        assert!(gcm.classes().is_empty(), "{:?}", gcm.classes());
        assert!(Suite::by_name("RC4-MD5").unwrap().has_class(WeakClass::Rc4));
        assert!(Suite::by_name("EXP-RC4-MD5")
            .unwrap()
            .has_class(WeakClass::Export));
        assert!(Suite::by_name("ADH-AES128-SHA")
            .unwrap()
            .has_class(WeakClass::Anon));
        assert!(Suite::by_name("NULL-SHA256").unwrap().has_class(WeakClass::Null));
        assert_eq!(WeakClass::parse("RSA"), Some(WeakClass::RsaKx));
        assert_eq!(WeakClass::parse("3DES"), Some(WeakClass::TripleDes));
    }

    #[test]
    fn lists_parse_like_nginx_and_name_the_bad_item() {
        let list = parse_list(["ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"]).unwrap();
        assert_eq!(list.iter().map(|s| s.code).collect::<Vec<_>>(), [0xC02B, 0xC02F]);
        let error = parse_list(["ECDHE-RSA-AES128-GCM-SHA256:HIGH"]).unwrap_err();
        assert!(error.contains("`HIGH`"), "{error}");
    }
}
