//! The key-exchange groups of TLS (IANA's "TLS Supported Groups" registry): elliptic curves,
//! the RFC 7919 finite-field groups, and the post-quantum KEMs and hybrids, with the size a policy
//! judges them by and the classes it can forbid.

use std::fmt;

/// What kind of key exchange a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// An elliptic curve (ECDHE in TLS 1.2 and below, a key share in TLS 1.3).
    Ec,
    /// An RFC 7919 finite-field group.
    Ffdhe,
    /// A post-quantum KEM on its own.
    Kem,
    /// A classical curve combined with a post-quantum KEM.
    Hybrid,
}

/// One named group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Group {
    pub code: u16,
    /// IANA's name (`x25519`, `secp256r1`, `ffdhe2048`, `X25519MLKEM768`).
    pub name: &'static str,
    /// The size a policy compares: the curve's field size (x25519 counts as 256, as sslyze and
    /// Mozilla's `ecdh_param_size` do), the prime's size for FFDHE, the classical part's for a
    /// hybrid, the ML-KEM parameter's security in bits for a pure KEM.
    pub bits: u16,
    pub family: Family,
}

const fn g(code: u16, name: &'static str, bits: u16, family: Family) -> Group {
    Group {
        code,
        name,
        bits,
        family,
    }
}

use Family::{Ec, Ffdhe, Hybrid, Kem};

/// Every group reach offers, in the order it offers them (the registry's).
const GROUPS: &[Group] = &[
    g(0x0001, "sect163k1", 163, Ec),
    g(0x0002, "sect163r1", 163, Ec),
    g(0x0003, "sect163r2", 163, Ec),
    g(0x0004, "sect193r1", 193, Ec),
    g(0x0005, "sect193r2", 193, Ec),
    g(0x0006, "sect233k1", 233, Ec),
    g(0x0007, "sect233r1", 233, Ec),
    g(0x0008, "sect239k1", 239, Ec),
    g(0x0009, "sect283k1", 283, Ec),
    g(0x000A, "sect283r1", 283, Ec),
    g(0x000B, "sect409k1", 409, Ec),
    g(0x000C, "sect409r1", 409, Ec),
    g(0x000D, "sect571k1", 571, Ec),
    g(0x000E, "sect571r1", 571, Ec),
    g(0x000F, "secp160k1", 160, Ec),
    g(0x0010, "secp160r1", 160, Ec),
    g(0x0011, "secp160r2", 160, Ec),
    g(0x0012, "secp192k1", 192, Ec),
    g(0x0013, "secp192r1", 192, Ec),
    g(0x0014, "secp224k1", 224, Ec),
    g(0x0015, "secp224r1", 224, Ec),
    g(0x0016, "secp256k1", 256, Ec),
    g(0x0017, "secp256r1", 256, Ec),
    g(0x0018, "secp384r1", 384, Ec),
    g(0x0019, "secp521r1", 521, Ec),
    g(0x001A, "brainpoolP256r1", 256, Ec),
    g(0x001B, "brainpoolP384r1", 384, Ec),
    g(0x001C, "brainpoolP512r1", 512, Ec),
    g(0x001D, "x25519", 256, Ec),
    g(0x001E, "x448", 448, Ec),
    g(0x001F, "brainpoolP256r1tls13", 256, Ec),
    g(0x0020, "brainpoolP384r1tls13", 384, Ec),
    g(0x0021, "brainpoolP512r1tls13", 512, Ec),
    g(0x0022, "GC256A", 256, Ec),
    g(0x0023, "GC256B", 256, Ec),
    g(0x0024, "GC256C", 256, Ec),
    g(0x0025, "GC256D", 256, Ec),
    g(0x0026, "GC512A", 512, Ec),
    g(0x0027, "GC512B", 512, Ec),
    g(0x0028, "GC512C", 512, Ec),
    g(0x0029, "curveSM2", 256, Ec),
    g(0x0100, "ffdhe2048", 2048, Ffdhe),
    g(0x0101, "ffdhe3072", 3072, Ffdhe),
    g(0x0102, "ffdhe4096", 4096, Ffdhe),
    g(0x0103, "ffdhe6144", 6144, Ffdhe),
    g(0x0104, "ffdhe8192", 8192, Ffdhe),
    g(0x0200, "MLKEM512", 128, Kem),
    g(0x0201, "MLKEM768", 192, Kem),
    g(0x0202, "MLKEM1024", 256, Kem),
    g(0x11EB, "SecP256r1MLKEM768", 256, Hybrid),
    g(0x11EC, "X25519MLKEM768", 256, Hybrid),
    g(0x11ED, "SecP384r1MLKEM1024", 384, Hybrid),
    g(0x6399, "X25519Kyber768Draft00", 256, Hybrid),
    g(0x639A, "SecP256r1Kyber768Draft00", 256, Hybrid),
];

/// Other spellings people write (OpenSSL's, NIST's).
const ALIASES: &[(&str, &str)] = &[
    ("prime256v1", "secp256r1"),
    ("p-256", "secp256r1"),
    ("p256", "secp256r1"),
    ("prime192v1", "secp192r1"),
    ("p-384", "secp384r1"),
    ("p384", "secp384r1"),
    ("p-521", "secp521r1"),
    ("p521", "secp521r1"),
    ("p-224", "secp224r1"),
    ("x25519kyber768", "X25519Kyber768Draft00"),
];

impl Group {
    /// Every group in the registry reach knows, in code-point order.
    pub fn all() -> &'static [Group] {
        GROUPS
    }

    pub fn by_code(code: u16) -> Option<Group> {
        GROUPS.iter().copied().find(|g| g.code == code)
    }

    /// By IANA name, an alias (`prime256v1`, `P-256`), case-insensitively, or a code point
    /// (`0x001D`).
    pub fn by_name(text: &str) -> Option<Group> {
        let text = text.trim();
        if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            return u16::from_str_radix(hex, 16).ok().and_then(Group::by_code);
        }
        let name = ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(text))
            .map_or(text, |(_, name)| name);
        GROUPS.iter().copied().find(|g| g.name.eq_ignore_ascii_case(name))
    }

    /// `0x001D`.
    pub fn hex(&self) -> String {
        format!("0x{:04X}", self.code)
    }

    pub fn has_class(&self, class: GroupClass) -> bool {
        match class {
            GroupClass::WeakGroup => self.family == Family::Ec && self.bits < 224,
            GroupClass::FfdheSmall => self.family == Family::Ffdhe && self.bits < 3072,
        }
    }

    pub fn classes(&self) -> Vec<GroupClass> {
        GroupClass::ALL
            .iter()
            .copied()
            .filter(|c| self.has_class(*c))
            .collect()
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The name of a group code point, for reports: IANA's name, or the code for one reach does not
/// know.
pub fn name(code: u16) -> String {
    Group::by_code(code).map_or_else(|| format!("0x{code:04X}"), |g| g.name.to_owned())
}

/// Groups a policy can forbid by class (in `forbid`, beside the suite classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupClass {
    /// Elliptic curves under 224 bits (under 112-bit security): sect163*, sect193*, secp160*,
    /// secp192*.
    WeakGroup,
    /// RFC 7919 groups under 3072 bits (ffdhe2048: under 128-bit security).
    FfdheSmall,
}

impl GroupClass {
    pub const ALL: &'static [GroupClass] = &[GroupClass::WeakGroup, GroupClass::FfdheSmall];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupClass::WeakGroup => "weak-group",
            GroupClass::FfdheSmall => "ffdhe-small",
        }
    }

    pub fn parse(text: &str) -> Option<GroupClass> {
        let lower = text.trim().to_ascii_lowercase();
        GroupClass::ALL.iter().copied().find(|c| c.as_str() == lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn code_points_and_names_are_unique_and_round_trip() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for group in Group::all() {
            assert!(codes.insert(group.code), "{} twice", group.hex());
            assert!(
                names.insert(group.name.to_ascii_lowercase()),
                "{} twice",
                group.name
            );
            assert_eq!(Group::by_name(group.name), Some(*group));
            assert_eq!(Group::by_name(&group.hex()), Some(*group));
        }
        assert_eq!(Group::by_name("prime256v1").map(|g| g.code), Some(0x0017));
        assert_eq!(Group::by_name("X25519").map(|g| g.code), Some(0x001D));
        assert_eq!(name(0x11EC), "X25519MLKEM768");
        assert_eq!(name(0xABCD), "0xABCD");
    }

    #[test]
    fn classes_mark_small_curves_and_the_smallest_ffdhe_group() {
        let weak: Vec<_> = Group::all()
            .iter()
            .filter(|g| g.has_class(GroupClass::WeakGroup))
            .map(|g| g.name)
            .collect();
        assert!(
            weak.contains(&"secp192r1") && weak.contains(&"sect163k1"),
            "{weak:?}"
        );
        assert!(
            !weak.contains(&"secp224r1") && !weak.contains(&"x25519"),
            "{weak:?}"
        );
        let small: Vec<_> = Group::all()
            .iter()
            .filter(|g| g.has_class(GroupClass::FfdheSmall))
            .map(|g| g.name)
            .collect();
        assert_eq!(small, ["ffdhe2048"]);
        assert_eq!(GroupClass::parse("Weak-Group"), Some(GroupClass::WeakGroup));
    }
}
