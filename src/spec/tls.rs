//! `kind = "tls"`: a TLS server, the versions and suites it must accept, and its certificate.
//! Also reads `reach tls --policy FILE`, a file of the same policy keys.

use super::context::{Base, FileContext};
use super::error::{Cause, Locator};
use super::error::{SpecError, SpecErrors};
use super::plan::{Check, ProbeSpec, TlsCheck};
use super::raw::{OneOrMany, RawPorts};
use crate::tls::policy::{CertRules, Policy, TextMatch};
use crate::tls::{mozilla, Version};
use crate::tls::{suites, Feature, Group, GroupClass, WeakClass};
use serde::de::IntoDeserializer;
use serde::Deserialize;
use serde_spanned::Spanned;
use std::path::Path;

/// The port of a TLS check that names none.
const DEFAULT_PORT: i64 = 443;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub host: Spanned<String>,
    pub port: Option<Spanned<RawPorts>>,
    pub ports: Option<Spanned<RawPorts>>,
    pub sni: Option<Spanned<String>>,
    pub policy: Option<Spanned<String>>,
    pub protocols: Option<Spanned<OneOrMany>>,
    pub ciphers: Option<Spanned<OneOrMany>>,
    pub tls13_ciphers: Option<Spanned<OneOrMany>>,
    pub exact: Option<Spanned<bool>>,
    pub forbid: Option<Spanned<OneOrMany>>,
    pub min_protocol: Option<Spanned<String>>,
    pub server_preference: Option<Spanned<bool>>,
    pub groups: Option<Spanned<OneOrMany>>,
    pub min_dh_bits: Option<Spanned<i64>>,
    pub require: Option<Spanned<OneOrMany>>,
    pub deny: Option<Spanned<OneOrMany>>,
    pub certificate: Option<RawCertificate>,
}

/// A policy file for `reach tls --policy FILE`: the policy keys of a tls check, at top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table of TLS policy keys")]
pub struct RawPolicy {
    pub policy: Option<Spanned<String>>,
    pub protocols: Option<Spanned<OneOrMany>>,
    pub ciphers: Option<Spanned<OneOrMany>>,
    pub tls13_ciphers: Option<Spanned<OneOrMany>>,
    pub exact: Option<Spanned<bool>>,
    pub forbid: Option<Spanned<OneOrMany>>,
    pub min_protocol: Option<Spanned<String>>,
    pub server_preference: Option<Spanned<bool>>,
    pub groups: Option<Spanned<OneOrMany>>,
    pub min_dh_bits: Option<Spanned<i64>>,
    pub require: Option<Spanned<OneOrMany>>,
    pub deny: Option<Spanned<OneOrMany>>,
    pub certificate: Option<RawCertificate>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of certificate rules (min_days, chain, hostname...)"
)]
pub struct RawCertificate {
    pub chain: Option<bool>,
    pub hostname: Option<bool>,
    pub min_days: Option<Spanned<i64>>,
    pub min_rsa_bits: Option<Spanned<i64>>,
    pub issuer: Option<Spanned<RawIssuer>>,
}

/// `certificate.issuer = { contains = "..." }` or `{ equals = "..." }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIssuer {
    pub contains: Option<String>,
    pub equals: Option<String>,
}

impl FileContext<'_> {
    /// One check per port (443 when none is written).
    pub(super) fn tls(&self, raw: RawTls, base: &Base<'_>, errors: &mut Vec<SpecError>) -> Vec<Check> {
        let host = self.host(&raw.host, errors);
        let sni = raw.sni.as_ref().and_then(|sni| {
            self.scope
                .substitute(sni.get_ref())
                .and_then(|text| match super::host::Host::parse(&text) {
                    Ok(super::host::Host::Name(name)) => Ok(name.to_string()),
                    _ => Err(Cause::from(format!("sni `{text}` must be a DNS name"))),
                })
                .map_err(|e| errors.push(self.locator.error(sni.span(), e)))
                .ok()
        });
        let default_port = Spanned::new(base.span.clone(), RawPorts::One(DEFAULT_PORT));
        let Some(written) = self.written_ports(
            raw.port.as_ref(),
            raw.ports.as_ref(),
            Some(&default_port),
            "tls",
            base,
            errors,
        ) else {
            return Vec::new();
        };
        let ports = self.ports(written, errors);
        let policy = RawPolicy {
            policy: raw.policy,
            protocols: raw.protocols,
            ciphers: raw.ciphers,
            tls13_ciphers: raw.tls13_ciphers,
            exact: raw.exact,
            forbid: raw.forbid,
            min_protocol: raw.min_protocol,
            server_preference: raw.server_preference,
            groups: raw.groups,
            min_dh_bits: raw.min_dh_bits,
            require: raw.require,
            deny: raw.deny,
            certificate: raw.certificate,
        };
        let policy = build_policy(&policy, self.locator, &|text| self.scope.substitute(text), errors);
        let (Some(host), Some(ports), Some(policy)) = (host, ports, policy) else {
            return Vec::new();
        };
        let local_id = self.local_id(base.common, || {
            format!("tls-{}-{}", raw.host.get_ref(), written.get_ref().as_written())
        });
        self.per_port(base, &local_id, ports, |port| {
            let probe = ProbeSpec::Tls(Box::new(TlsCheck {
                host: host.clone(),
                port,
                sni: sni.clone(),
                policy: policy.clone(),
            }));
            (format!("TLS on port {port}"), probe)
        })
    }
}

/// Builds a policy from its keys: a Mozilla profile if named, then each key replacing the
/// profile's rule. Without a profile, the certificate must verify unless `certificate` says
/// otherwise.
fn build_policy(
    raw: &RawPolicy,
    locator: &Locator<'_>,
    substitute: &dyn Fn(&str) -> Result<String, Cause>,
    errors: &mut Vec<SpecError>,
) -> Option<Policy> {
    let before = errors.len();
    let mut fail = |span: std::ops::Range<usize>, cause: Cause| errors.push(locator.error(span, cause));
    // Every text of a list after substitution; an empty list when one could not be substituted
    // (reported here), so that what follows judges no partial list ("`protocols` is empty").
    let texts = |value: &Spanned<OneOrMany>, fail: &mut dyn FnMut(std::ops::Range<usize>, Cause)| {
        let mut out = Vec::new();
        let mut complete = true;
        for text in value.get_ref().to_vec() {
            match substitute(&text) {
                Ok(text) => out.push(text),
                Err(e) => {
                    complete = false;
                    fail(value.span(), e);
                }
            }
        }
        complete.then_some(out)
    };
    let mut policy = Policy {
        certificate: CertRules::VALID,
        ..Policy::report_only()
    };
    if let Some(name) = &raw.policy {
        match mozilla::by_name(name.get_ref()) {
            Some(profile) => policy = Policy::mozilla(profile),
            None => fail(
                name.span(),
                Cause::from(format!(
                    "unknown policy `{}`: expected one of {}",
                    name.get_ref(),
                    mozilla::ALL.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
                )),
            ),
        }
    }
    if let Some((value, texts)) = raw
        .protocols
        .as_ref()
        .and_then(|v| Some((v, texts(v, &mut fail)?)))
    {
        let mut versions = Vec::new();
        let mut unknown = false;
        for text in texts {
            for word in text.split([' ', ',', ':']).filter(|w| !w.is_empty()) {
                match Version::parse(word) {
                    Some(v) if !versions.contains(&v) => versions.push(v),
                    Some(_) => {}
                    None => {
                        unknown = true;
                        fail(
                        value.span(),
                            Cause::from(format!("unknown protocol version `{word}`: expected SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3"))
                        );
                    }
                }
            }
        }
        // An unknown name was already reported; "empty" would only repeat it.
        if versions.is_empty() && !unknown {
            fail(value.span(), Cause::from("`protocols` is empty".to_owned()));
        }
        versions.sort();
        policy.protocols = Some(versions);
    }
    for (value, tls13) in [(&raw.ciphers, false), (&raw.tls13_ciphers, true)] {
        let Some(value) = value else { continue };
        let key = if tls13 { "tls13_ciphers" } else { "ciphers" };
        let Some(texts) = texts(value, &mut fail) else {
            continue;
        };
        match suites::parse_list(texts.iter().map(String::as_str)) {
            Ok(list) => {
                if let Some(wrong) = list.iter().find(|s| s.is_tls13() != tls13) {
                    let hint = if tls13 {
                        "it is not a TLS 1.3 suite: put it in `ciphers`"
                    } else {
                        "it is a TLS 1.3 suite: put it in `tls13_ciphers`"
                    };
                    fail(
                        value.span(),
                        Cause::from(format!("`{key}` lists {}: {hint}", wrong.name())),
                    );
                }
                if tls13 {
                    policy.tls13_ciphers = Some(list);
                } else {
                    policy.ciphers = Some(list);
                }
            }
            Err(e) => fail(value.span(), Cause::from(e)),
        }
    }
    if let Some(exact) = &raw.exact {
        if *exact.get_ref() && raw.ciphers.is_none() && raw.tls13_ciphers.is_none() && raw.groups.is_none() {
            fail(
                exact.span(),
                Cause::from("`exact` needs `ciphers`, `tls13_ciphers` or `groups`".to_owned()),
            );
        }
        policy.exact = *exact.get_ref();
    }
    if let Some(value) = &raw.forbid {
        for text in texts(value, &mut fail).unwrap_or_default() {
            for word in text.split([' ', ',', ':']).filter(|w| !w.is_empty()) {
                match forbid_word(word, &mut policy) {
                    Ok(()) => {}
                    Err(e) => fail(value.span(), Cause::from(format!("{e} in `forbid`"))),
                }
            }
        }
    }
    if let Some(min) = &raw.min_protocol {
        let text = substitute(min.get_ref()).unwrap_or_else(|e| {
            fail(min.span(), e);
            String::new()
        });
        match Version::parse(&text) {
            Some(version) => {
                if raw.protocols.is_some() {
                    fail(
                        min.span(),
                        Cause::from("`min_protocol` and `protocols` cannot both be given: `protocols` lists the exact versions, `min_protocol` the oldest one allowed".to_owned())
                    );
                }
                // It replaces the profile's exact list: "TLS 1.2 and up" must not fail a
                // server that speaks TLS 1.3 only.
                policy.protocols = None;
                policy.min_protocol = Some(version);
            }
            None if text.is_empty() => {}
            None => fail(
                min.span(),
                Cause::from(format!(
                    "unknown protocol version `{text}`: expected SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3"
                )),
            ),
        }
    }
    if let Some(value) = &raw.server_preference {
        policy.server_preference = *value.get_ref();
    }
    if let Some(value) = &raw.groups {
        let mut list = Vec::new();
        for text in texts(value, &mut fail).unwrap_or_default() {
            for word in text.split([' ', ',', ':']).filter(|w| !w.is_empty()) {
                match Group::by_name(word) {
                    Some(group) if !list.contains(&group) => list.push(group),
                    Some(_) => {}
                    None => fail(value.span(), Cause::from(unknown_group(word))),
                }
            }
        }
        policy.groups = Some(list);
    }
    if let Some(value) = &raw.min_dh_bits {
        match u32::try_from(*value.get_ref()) {
            Ok(bits) if (512..=16_384).contains(&bits) => policy.min_dh_bits = Some(bits),
            _ => fail(
                value.span(),
                Cause::from(format!(
                    "`min_dh_bits` must be a number from 512 to 16384, not {}",
                    value.get_ref()
                )),
            ),
        }
    }
    for (value, deny) in [(&raw.require, false), (&raw.deny, true)] {
        let Some(value) = value else { continue };
        let key = if deny { "deny" } else { "require" };
        let mut list = Vec::new();
        for text in texts(value, &mut fail).unwrap_or_default() {
            for word in text.split([' ', ',', ':']).filter(|w| !w.is_empty()) {
                match Feature::parse(word) {
                    Some(feature) if !list.contains(&feature) => list.push(feature),
                    Some(_) => {}
                    None => fail(
                        value.span(),
                        Cause::from(format!(
                            "unknown feature `{word}` in `{key}`: expected one of {}",
                            Feature::names()
                        )),
                    ),
                }
            }
        }
        if deny {
            policy.deny = list;
        } else {
            policy.require = list;
        }
    }
    if let (Some(both), Some(value)) = (policy.require.iter().find(|f| policy.deny.contains(f)), &raw.deny) {
        fail(
            value.span(),
            Cause::from(format!("`{both}` is both required and denied")),
        );
    }
    if let Some(cert) = &raw.certificate {
        if let Some(issuer) = &cert.issuer {
            let rule = match (&issuer.get_ref().contains, &issuer.get_ref().equals) {
                (Some(text), None) if !text.trim().is_empty() => Some(TextMatch::Contains(text.clone())),
                (None, Some(text)) if !text.trim().is_empty() => Some(TextMatch::Equals(text.clone())),
                _ => {
                    fail(
                        issuer.span(),
                        Cause::from(
                            "`certificate.issuer` takes one of `contains` or `equals`, with a non-empty text"
                                .to_owned(),
                        ),
                    );
                    None
                }
            };
            policy.certificate.issuer = rule;
        }
        let rules = &mut policy.certificate;
        rules.chain = cert.chain.unwrap_or(rules.chain);
        rules.hostname = cert.hostname.unwrap_or(rules.hostname);
        let mut number = |value: &Option<Spanned<i64>>, max: i64, what: &str| {
            value.as_ref().and_then(|v| match u32::try_from(*v.get_ref()) {
                Ok(n) if i64::from(n) <= max => Some(n),
                _ => {
                    fail(
                        v.span(),
                        Cause::from(format!(
                            "{what} must be a number from 0 to {max}, not {}",
                            v.get_ref()
                        )),
                    );
                    None
                }
            })
        };
        if let Some(days) = number(&cert.min_days, 36_500, "`min_days`") {
            rules.min_days = Some(days);
        }
        if let Some(bits) = number(&cert.min_rsa_bits, 16_384, "`min_rsa_bits`") {
            rules.min_rsa_bits = Some(bits);
        }
    }
    (errors.len() == before).then_some(policy)
}

/// One word of `forbid`: a suite class or a group class.
fn forbid_word(word: &str, policy: &mut Policy) -> Result<(), String> {
    if let Some(class) = WeakClass::parse(word) {
        if !policy.forbid.contains(&class) {
            policy.forbid.push(class);
        }
        return Ok(());
    }
    if let Some(class) = GroupClass::parse(word) {
        if !policy.forbid_groups.contains(&class) {
            policy.forbid_groups.push(class);
        }
        return Ok(());
    }
    Err(format!(
        "unknown class `{word}`: expected one of {}",
        WeakClass::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(GroupClass::ALL.iter().map(|c| c.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn unknown_group(word: &str) -> String {
    format!("unknown group `{word}`: use an IANA name (x25519, secp256r1, ffdhe2048, X25519MLKEM768), an OpenSSL alias (prime256v1) or a code point (0x001D)")
}

/// Reads a policy for `reach tls --policy`: a Mozilla profile's name, or a TOML file of policy
/// keys. Errors name the value (and, in a file, its line and column).
pub fn load_policy(text: &str) -> Result<Policy, PolicyError> {
    if let Some(profile) = mozilla::by_name(text) {
        return Ok(Policy::mozilla(profile));
    }
    let path = Path::new(text);
    if !path.exists() {
        // Neither a profile nor a file: the value itself is wrong, there is no file to locate.
        return Err(PolicyError::UnknownName(format!(
            "unknown policy `{text}`: expected {} or a policy file",
            mozilla::ALL.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
        )));
    }
    load_policy_file(text, path).map_err(PolicyError::File)
}

/// Why `--policy` could not be loaded.
#[derive(Debug)]
pub enum PolicyError {
    /// Not a known profile, and no such file.
    UnknownName(String),
    /// The policy file has errors, each with its location.
    File(SpecErrors),
}

/// Without the leading `error: `, which the caller prints; later errors get their own.
impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyError::UnknownName(message) => f.write_str(message),
            PolicyError::File(errors) => {
                let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
                f.write_str(&lines.join("\nerror: "))
            }
        }
    }
}

impl std::error::Error for PolicyError {}

fn load_policy_file(text: &str, path: &Path) -> Result<Policy, SpecErrors> {
    let contents = crate::input::read_text(path)
        .map_err(|e| SpecErrors(vec![SpecError::whole_file(text, e.to_string())]))?;
    let locator = Locator::new(text, &contents);
    let table = toml::de::DeTable::parse(&contents).map_err(|e| SpecErrors(vec![locator.toml(&e, 0..0)]))?;
    let span = table.span();
    let mut table = table.into_inner();
    table.make_owned();
    let raw = RawPolicy::deserialize(Spanned::new(span.clone(), table).into_deserializer())
        .map_err(|e| SpecErrors(vec![locator.toml(&e, span)]))?;
    let mut errors = Vec::new();
    let no_vars = |text: &str| Ok(text.to_owned());
    match build_policy(&raw, &locator, &no_vars, &mut errors) {
        Some(policy) if errors.is_empty() => Ok(policy),
        _ => Err(SpecErrors(errors)),
    }
}

/// The policy flags of `reach tls`, as typed.
#[derive(Debug, Clone, Default)]
pub struct PolicyFlags<'a> {
    pub protocols: Option<&'a str>,
    pub ciphers: Option<&'a str>,
    pub tls13_ciphers: Option<&'a str>,
    pub exact: bool,
    pub forbid: Option<&'a str>,
    pub min_protocol: Option<&'a str>,
    pub server_preference: bool,
    pub groups: Option<&'a str>,
    pub min_dh_bits: Option<u32>,
    pub require: Option<&'a str>,
    pub deny: Option<&'a str>,
}

/// Applies `reach tls` flags over a policy; an error names the flag and the value at fault.
pub fn apply_flags(mut policy: Policy, flags: &PolicyFlags<'_>) -> Result<Policy, String> {
    let words = |text: &str| -> Vec<String> {
        text.split([' ', ',', ':'])
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    if let Some(text) = flags.protocols {
        let mut versions = Vec::new();
        for word in words(text) {
            let version = Version::parse(&word)
                .ok_or_else(|| format!("--protocols: unknown protocol version `{word}`: expected SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3"))?;
            if !versions.contains(&version) {
                versions.push(version);
            }
        }
        versions.sort();
        policy.protocols = Some(versions);
        policy.min_protocol = None;
    }
    for (text, tls13, flag) in [
        (flags.ciphers, false, "--ciphers"),
        (flags.tls13_ciphers, true, "--tls13-ciphers"),
    ] {
        let Some(text) = text else { continue };
        let list = suites::parse_list([text]).map_err(|e| format!("{flag}: {e}"))?;
        if let Some(wrong) = list.iter().find(|s| s.is_tls13() != tls13) {
            return Err(format!(
                "{flag}: {} is {}a TLS 1.3 suite",
                wrong.name(),
                if tls13 { "not " } else { "" }
            ));
        }
        if tls13 {
            policy.tls13_ciphers = Some(list);
        } else {
            policy.ciphers = Some(list);
        }
    }
    if let Some(text) = flags.groups {
        let mut list = Vec::new();
        for word in words(text) {
            let group = Group::by_name(&word).ok_or_else(|| format!("--groups: {}", unknown_group(&word)))?;
            if !list.contains(&group) {
                list.push(group);
            }
        }
        policy.groups = Some(list);
    }
    if flags.exact {
        if policy.ciphers.is_none() && policy.tls13_ciphers.is_none() && policy.groups.is_none() {
            return Err(
                "--exact needs --ciphers, --tls13-ciphers, --groups or a --policy that lists suites"
                    .to_owned(),
            );
        }
        policy.exact = true;
    }
    if let Some(text) = flags.forbid {
        for word in words(text) {
            forbid_word(&word, &mut policy).map_err(|e| format!("--forbid: {e}"))?;
        }
    }
    if let Some(text) = flags.min_protocol {
        let version = Version::parse(text).ok_or_else(|| {
            format!("--min-protocol: unknown protocol version `{text}`: expected SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3")
        })?;
        if flags.protocols.is_some() {
            return Err("--min-protocol and --protocols cannot both be given".to_owned());
        }
        policy.protocols = None;
        policy.min_protocol = Some(version);
    }
    if flags.server_preference {
        policy.server_preference = true;
    }
    if let Some(bits) = flags.min_dh_bits {
        if !(512..=16_384).contains(&bits) {
            return Err(format!("--min-dh-bits must be from 512 to 16384, not {bits}"));
        }
        policy.min_dh_bits = Some(bits);
    }
    for (text, deny, flag) in [(flags.require, false, "--require"), (flags.deny, true, "--deny")] {
        let Some(text) = text else { continue };
        let mut list = Vec::new();
        for word in words(text) {
            let feature = Feature::parse(&word).ok_or_else(|| {
                format!(
                    "{flag}: unknown feature `{word}`: expected one of {}",
                    Feature::names()
                )
            })?;
            if !list.contains(&feature) {
                list.push(feature);
            }
        }
        if deny {
            policy.deny = list;
        } else {
            policy.require = list;
        }
    }
    if let Some(both) = policy.require.iter().find(|f| policy.deny.contains(f)) {
        return Err(format!("`{both}` is both required and denied"));
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use crate::spec::{load_str, LoadOptions, ProbeSpec};
    use crate::tls::Version;

    fn tls(body: &str) -> Result<Vec<crate::spec::Check>, Vec<crate::spec::SpecError>> {
        load_str(
            "t.toml",
            &format!("[[check]]\nkind = \"tls\"\nhost = \"example.test\"\n{body}"),
            &LoadOptions::default(),
        )
    }

    #[test]
    fn a_flowsync_style_check_loads_with_nginx_names() {
        let checks = tls("protocols = \"TLSv1.2 TLSv1.3\"\n\
             ciphers = \"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256\"\n\
             exact = true\nforbid = [\"CBC\", \"RSA\", \"3DES\"]\n\
             certificate = { min_days = 14, min_rsa_bits = 2048 }\n")
        .unwrap();
        let ProbeSpec::Tls(check) = &checks[0].probe else {
            panic!("not a tls check")
        };
        assert_eq!(check.port, 443);
        assert_eq!(check.server_name(), Some("example.test"));
        assert_eq!(check.policy.protocols, Some(vec![Version::Tls12, Version::Tls13]));
        assert_eq!(check.policy.ciphers.as_ref().map(Vec::len), Some(2));
        assert!(check.policy.exact && check.policy.certificate.chain);
        assert_eq!(check.policy.forbid.len(), 3);
        assert_eq!(checks[0].target(), "example.test:443");
    }

    #[test]
    fn deep_keys_load_and_min_protocol_replaces_the_profiles_versions() {
        let checks = tls("policy = \"mozilla-intermediate\"\nmin_protocol = \"TLSv1.2\"\n\
             groups = \"x25519:prime256v1\"\nexact = true\nforbid = [\"weak-group\", \"cbc\"]\n\
             min_dh_bits = 3072\nserver_preference = true\nrequire = \"fallback-scsv\"\n\
             certificate = { issuer = { contains = \"R11\" } }\n")
        .unwrap();
        let ProbeSpec::Tls(check) = &checks[0].probe else {
            panic!("not a tls check")
        };
        let policy = &check.policy;
        assert_eq!(policy.protocols, None);
        assert_eq!(policy.min_protocol, Some(Version::Tls12));
        assert_eq!(
            policy
                .groups
                .as_ref()
                .map(|g| g.iter().map(|g| g.code).collect::<Vec<_>>()),
            Some(vec![0x1D, 0x17])
        );
        assert!(policy.exact && policy.server_preference);
        assert_eq!(policy.forbid_groups, [crate::tls::GroupClass::WeakGroup]);
        assert_eq!(policy.min_dh_bits, Some(3072));
        assert_eq!(policy.require, [crate::tls::Feature::FallbackScsv]);
        assert!(policy
            .certificate
            .issuer
            .as_ref()
            .is_some_and(|i| i.matches("CN=R11, O=Let's Encrypt")));
        // The profile's other rules stay.
        assert!(policy.ciphers.is_some() && policy.curves.is_some());
    }

    #[test]
    fn bad_names_are_spec_errors_that_name_the_value() {
        for (body, line, needle) in [
            (
                "ciphers = \"ECDHE-RSA-AES128-GCM-SHA256:NOPE-CIPHER\"\n",
                4,
                "`NOPE-CIPHER`",
            ),
            ("protocols = [\"TLSv1.2\", \"TLSv9\"]\n", 4, "`TLSv9`"),
            ("forbid = [\"cbc\", \"slow\"]\n", 4, "`slow`"),
            ("policy = \"mozilla-old\"\n", 4, "`mozilla-old`"),
            (
                "tls13_ciphers = [\"ECDHE-RSA-AES128-GCM-SHA256\"]\n",
                4,
                "not a TLS 1.3 suite",
            ),
            ("exact = true\n", 4, "needs `ciphers`"),
            ("certificate = { min_days = -1 }\n", 4, "min_days"),
            ("certificate = { days = 1 }\n", 4, "unknown field `days`"),
            ("min_protocol = \"TLSv2\"\n", 4, "`TLSv2`"),
            ("groups = [\"x25519\", \"curve9\"]\n", 4, "`curve9`"),
            ("forbid = \"tiny-group\"\n", 4, "`tiny-group`"),
            ("require = [\"robot\"]\n", 4, "`robot`"),
            (
                "require = \"compression\"\ndeny = \"compression\"\n",
                5,
                "both required and denied",
            ),
            ("min_dh_bits = 100\n", 4, "`min_dh_bits`"),
            (
                "certificate = { issuer = { contains = \"a\", equals = \"b\" } }\n",
                4,
                "one of `contains` or `equals`",
            ),
            (
                "protocols = \"TLSv1.3\"\nmin_protocol = \"TLSv1.2\"\n",
                5,
                "cannot both be given",
            ),
        ] {
            let errors = tls(body).expect_err(body);
            assert_eq!(errors[0].line, line, "{}", errors[0]);
            assert!(errors[0].message.contains(needle), "{body}: {}", errors[0]);
        }
    }
}
