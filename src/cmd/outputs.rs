//! The files a session writes besides stdout: `-o` and every `--also FORMAT=PATH`, each locked
//! so that two runs writing the same report take turns (see [`crate::report::lock`]).

use crate::report::lock::{self, LockError, OutputLock};
use crate::report::Format;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `--also FORMAT=PATH`: one more report of the same run, in another format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Also {
    pub format: Format,
    pub path: PathBuf,
}

pub fn parse_also(text: &str) -> Result<Also, String> {
    let (format, path) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not FORMAT=PATH (e.g. prometheus=reach.prom)"))?;
    let format = <Format as clap::ValueEnum>::from_str(format, true)
        .map_err(|_| format!("`{format}` is not a format: human, json, junit, prometheus or nagios"))?;
    if path.is_empty() {
        return Err(format!("`{text}` names no file"));
    }
    Ok(Also {
        format,
        path: PathBuf::from(path),
    })
}

/// Takes the lock of every path, in one order (the lock files' names) so that two runs with
/// overlapping outputs cannot wait for each other. The time spent waiting comes off `deadline`;
/// a deadline used up by waiting is a busy lock.
pub fn lock_all(
    paths: &[&Path],
    deadline: &mut Option<Duration>,
    quiet: bool,
) -> Result<Vec<OutputLock>, LockError> {
    let mut wanted: Vec<(&Path, PathBuf)> = paths
        .iter()
        .filter_map(|path| Some((*path, lock::lock_path(path)?)))
        .collect();
    wanted.sort_by(|a, b| a.1.cmp(&b.1));
    wanted.dedup_by(|a, b| a.1 == b.1);
    let started = Instant::now();
    let mut locks = Vec::new();
    for (path, lock_path) in &wanted {
        let left = deadline.map(|d| d.saturating_sub(started.elapsed()));
        let lock = OutputLock::acquire(path, lock_path, left, || {
            if !quiet {
                crate::cmd::stderr_line!(
                    "note: another reach run is writing {}; waiting for it (lock {})",
                    path.display(),
                    lock_path.display()
                );
            }
        })?;
        locks.push(lock);
    }
    if let (Some(deadline), Some((path, lock_path))) = (deadline.as_mut(), wanted.last()) {
        let waited = started.elapsed();
        *deadline = deadline.saturating_sub(waited);
        if deadline.is_zero() {
            return Err(LockError::Busy {
                output: path.to_path_buf(),
                lock: lock_path.clone(),
                waited,
            });
        }
    }
    Ok(locks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn also_takes_a_format_and_a_path() {
        assert_eq!(
            parse_also("prometheus=/var/lib/node/reach.prom"),
            Ok(Also {
                format: Format::Prometheus,
                path: PathBuf::from("/var/lib/node/reach.prom")
            })
        );
        assert_eq!(
            parse_also("JUnit=a=b.xml").unwrap().path,
            PathBuf::from("a=b.xml")
        );
        assert!(parse_also("xml=x").unwrap_err().contains("not a format"));
        assert!(parse_also("json").is_err());
        assert!(parse_also("json=").is_err());
    }
}
