//! The check-file format as written, before validation. Serde types only; nothing here runs.

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_spanned::Spanned;
use std::fmt;

/// Top-level keys other than `[vars]` and `[[check]]`, which the loader reads itself.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct RawHeader {
    pub profile: Option<Spanned<String>>,
    #[allow(dead_code)] // documentation for people; read but not used by the runner
    pub description: Option<String>,
    #[serde(default)]
    pub defaults: RawDefaults,
    // Present so that an unknown top-level key lists them among the expected ones; the loader
    // takes both out of the table before this struct is read.
    #[allow(dead_code)]
    pub vars: Option<IgnoredAny>,
    #[allow(dead_code)]
    pub check: Option<IgnoredAny>,
}

/// `[defaults]`: values every check of the file inherits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with `timeout` and `retries`")]
pub struct RawDefaults {
    pub timeout: Option<Spanned<String>>,
    pub retries: Option<Spanned<u32>>,
}

/// Keys every `[[check]]` accepts, whatever its kind.
pub const COMMON_KEYS: &[&str] = &["kind", "id", "name", "tags", "vantage", "timeout", "retries"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommon {
    pub kind: Spanned<String>,
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    pub vantage: Option<Spanned<OneOrMany>>,
    pub timeout: Option<Spanned<String>>,
    pub retries: Option<Spanned<u32>>,
}

/// A string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a string or a list of strings")]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

/// Ports as written: a number, a string list (`"22,8000-8010"`, `"{port}"`), or an array of both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawPorts {
    One(i64),
    Text(String),
    List(Vec<RawPortItem>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawPortItem {
    Number(i64),
    Text(String),
}

impl RawPorts {
    /// The ports as one line, for deriving stable ids from what the user wrote.
    pub fn as_written(&self) -> String {
        match self {
            RawPorts::One(port) => port.to_string(),
            RawPorts::Text(text) => text.clone(),
            RawPorts::List(items) => items
                .iter()
                .map(|item| match item {
                    RawPortItem::Number(port) => port.to_string(),
                    RawPortItem::Text(text) => text.clone(),
                })
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

const PORTS_EXPECTED: &str = "a port number, a list of ports, or a string like \"22,8000-8010\"";

impl<'de> Deserialize<'de> for RawPorts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortsVisitor;
        impl<'de> Visitor<'de> for PortsVisitor {
            type Value = RawPorts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(PORTS_EXPECTED)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawPorts, E> {
                Ok(RawPorts::One(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawPorts, E> {
                Ok(RawPorts::One(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawPorts, E> {
                Ok(RawPorts::Text(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawPorts, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<RawPortItem>()? {
                    items.push(item);
                }
                Ok(RawPorts::List(items))
            }
        }
        deserializer.deserialize_any(PortsVisitor)
    }
}

impl<'de> Deserialize<'de> for RawPortItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = RawPortItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number or a string like \"8000-8010\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawPortItem, E> {
                Ok(RawPortItem::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawPortItem, E> {
                Ok(RawPortItem::Number(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawPortItem, E> {
                Ok(RawPortItem::Text(v.to_owned()))
            }
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}
