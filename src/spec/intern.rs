//! One allocation for each distinct host name, tag list and vantage list of a load: a file of
//! 100,000 checks names a handful of hosts, and every check of them shares its host's string
//! rather than carrying a copy.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The distinct values seen so far while one set of files is loaded.
#[derive(Debug, Default)]
pub(super) struct Interner {
    // Locked: the tables of a large file are loaded on several threads at once.
    names: Mutex<HashSet<Arc<str>>>,
    lists: Mutex<HashSet<Arc<[String]>>>,
}

/// The set behind `lock`; a set is only changed by `insert`, which cannot leave it half-done.
fn locked<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Interner {
    /// The shared copy of `name`: the first one seen that is equal to it.
    pub(super) fn name(&self, name: Arc<str>) -> Arc<str> {
        let mut names = locked(&self.names);
        if let Some(known) = names.get(&name) {
            return Arc::clone(known);
        }
        names.insert(Arc::clone(&name));
        name
    }

    /// The shared copy of a list of words (tags, vantage points); the empty list is one too.
    pub(super) fn list(&self, list: Vec<String>) -> Arc<[String]> {
        let mut lists = locked(&self.lists);
        if let Some(known) = lists.get(list.as_slice()) {
            return Arc::clone(known);
        }
        let shared: Arc<[String]> = list.into();
        lists.insert(Arc::clone(&shared));
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_and_lists_share_one_allocation() {
        let interner = Interner::default();
        let first = interner.name(Arc::from("db.test"));
        let again = interner.name(Arc::from("db.test"));
        let other = interner.name(Arc::from("api.test"));
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &other));
        let tags = interner.list(vec!["smoke".to_owned()]);
        let same = interner.list(vec!["smoke".to_owned()]);
        let none = interner.list(Vec::new());
        assert!(Arc::ptr_eq(&tags, &same));
        assert!(Arc::ptr_eq(&none, &interner.list(Vec::new())));
        assert_eq!(&*tags, ["smoke".to_owned()]);
    }
}
