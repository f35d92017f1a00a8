//! One writer per report file: two overlapping runs with the same `-o` (a cron job that outlasts
//! its period) take turns instead of both probing and racing to replace the file.
//!
//! The lock is an `flock` on a hidden sibling, `.NAME.lock`, not on the report itself: the
//! report is replaced by a rename, so its inode changes under a waiting run, and locking it
//! would mean creating an empty report before the first run, which a reader would see. The
//! lock file is removed by its holder; a waiter that then finds the path gone or pointing at
//! another file starts over, so at most one run at a time holds the lock of a path. A report
//! that is a FIFO or a device (`-o /dev/stdout`) is written through, never replaced, and is not
//! locked.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(50);

/// Why a run could not get the lock of its report.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another reach run is still writing {} (it holds {}); gave up after {}: nothing was probed",
        output.display(),
        lock.display(),
        crate::text::rounded(*waited)
    )]
    Busy {
        output: PathBuf,
        lock: PathBuf,
        waited: Duration,
    },
    #[error("cannot lock {}: {source}", lock.display())]
    Io { lock: PathBuf, source: io::Error },
}

/// The lock of one report path, held until dropped.
#[derive(Debug)]
pub struct OutputLock {
    /// Held, never read: unlocked and closed when dropped (nix's `Flock`, since std's
    /// `File::try_lock` needs Rust 1.89, above reach's MSRV).
    _flock: Flock<File>,
    path: PathBuf,
    /// How long the run waited for it.
    pub waited: Duration,
}

/// The lock file of the report at `output`: beside the file the report really replaces (a
/// symlink is followed). `None` when nothing needs locking: a FIFO or a device, or a path whose
/// directory does not exist (writing the report fails with its own message then).
pub fn lock_path(output: &Path) -> Option<PathBuf> {
    let target = match fs::metadata(output) {
        Ok(metadata) if !metadata.is_file() => return None,
        Ok(_) => fs::canonicalize(output).ok()?,
        Err(_) => {
            let parent = match output.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
            fs::canonicalize(parent).ok()?.join(output.file_name()?)
        }
    };
    let name = target.file_name()?.to_string_lossy().into_owned();
    Some(target.with_file_name(format!(".{name}.lock")))
}

impl OutputLock {
    /// Takes the lock at `path` for the report at `output`, waiting at most `wait` (forever when
    /// `None`); `waiting` is called once if the lock is busy at first.
    pub fn acquire(
        output: &Path,
        path: &Path,
        wait: Option<Duration>,
        waiting: impl FnOnce(),
    ) -> Result<OutputLock, LockError> {
        let started = Instant::now();
        let io = |source| LockError::Io {
            lock: path.to_owned(),
            source,
        };
        let mut waiting = Some(waiting);
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(io)?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(file) => {
                    // The holder before us may have removed the file after we opened it: then
                    // this lock guards nothing, and the path's current file must be locked.
                    if same_file(&file, path) {
                        return Ok(OutputLock {
                            _flock: file,
                            path: path.to_owned(),
                            waited: started.elapsed(),
                        });
                    }
                    continue;
                }
                Err((file, Errno::EWOULDBLOCK)) => drop(file),
                Err((_, errno)) => return Err(io(errno.into())),
            }
            if let Some(waiting) = waiting.take() {
                waiting();
            }
            let waited = started.elapsed();
            if wait.is_some_and(|wait| waited >= wait) {
                return Err(LockError::Busy {
                    output: output.to_owned(),
                    lock: path.to_owned(),
                    waited,
                });
            }
            let left = wait.map_or(POLL, |wait| wait.saturating_sub(waited));
            std::thread::sleep(POLL.min(left));
        }
    }
}

fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Removed while still locked (`_flock` is unlocked and closed after this): a waiter that
        // locks the removed file sees that it is no longer at the path and starts over.
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_waits_and_gives_up_and_the_lock_file_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("report.json");
        let path = lock_path(&output).unwrap();
        assert_eq!(path.file_name().unwrap(), ".report.json.lock");
        let first = OutputLock::acquire(&output, &path, None, || {}).unwrap();
        let mut told = false;
        let second = OutputLock::acquire(&output, &path, Some(Duration::from_millis(200)), || told = true);
        assert!(matches!(second, Err(LockError::Busy { .. })), "{second:?}");
        assert!(told, "a waiting run says so");
        drop(first);
        assert!(!path.exists(), "the holder removes the lock file");
        let again = OutputLock::acquire(&output, &path, Some(Duration::ZERO), || {});
        assert!(again.is_ok(), "{again:?}");
    }

    #[test]
    fn devices_and_fifos_are_not_locked() {
        assert_eq!(lock_path(Path::new("/dev/null")), None);
    }

    #[test]
    fn a_symlinked_report_is_locked_beside_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("r.json"), "{}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(real.join("r.json"), &link).unwrap();
        let path = lock_path(&link).unwrap();
        assert_eq!(path, fs::canonicalize(&real).unwrap().join(".r.json.lock"));
    }
}
