//! API keys of the providers reach knows, read from the environment and never shown.

use crate::spec::request::Provider;
use std::collections::HashMap;
use std::fmt;

/// API keys from the environment, by variable name. Never printed: `Debug` shows names only.
#[derive(Default)]
pub struct Keys(HashMap<&'static str, String>);

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.0.keys().collect();
        names.sort();
        f.debug_tuple("Keys").field(&names).finish()
    }
}

impl Keys {
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Keys {
        let mut keys = HashMap::new();
        for provider in Provider::ALL {
            for &name in provider.key_variables() {
                if let Some(value) = get(name) {
                    keys.insert(name, value.trim().to_owned());
                }
            }
        }
        Keys(keys)
    }

    /// The first variable set for `provider`, and its value.
    pub fn for_provider(&self, provider: Provider) -> Option<(&'static str, &str)> {
        provider
            .key_variables()
            .iter()
            .find_map(|&name| self.0.get(name).map(|v| (name, v.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn keys_debug_shows_names_only() {
        let keys = Keys::from_vars(env(&[
            ("OPENAI_API_KEY", "sk-secret"),
            ("DEEPGRAM_API_KEY", "dg"),
        ]));
        let shown = format!("{keys:?}");
        assert!(
            shown.contains("OPENAI_API_KEY") && !shown.contains("sk-secret"),
            "{shown}"
        );
        assert_eq!(
            keys.for_provider(Provider::Deepgram),
            Some(("DEEPGRAM_API_KEY", "dg"))
        );
    }
}
