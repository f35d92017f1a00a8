//! Where a report goes (`-o PATH`, or stdout), decided before anything is probed so that a bad
//! destination is a usage error, not a lost run.
//!
//! - A regular file (or a path that does not exist yet) is replaced atomically: the report is
//!   written to a temporary file beside it, then renamed over it, so a reader never sees half a
//!   report and a failed write leaves the old file as it was.
//! - A symbolic link is followed, and its target is replaced; the link itself stays.
//! - A FIFO or a character device (`/dev/stdout`, a named pipe, a terminal) is written through:
//!   it is opened and written, never replaced by a file.
//! - A path that names an input of the run (a check file, `--ca-file`, a policy file) is refused:
//!   the report would destroy it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How many symbolic links are followed before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Why `-o PATH` cannot take the report; nothing is probed then.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write the report to {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot write the report to {}: it is {kind}; -o takes a regular file, a FIFO or a character device", path.display())]
    Unusable { path: PathBuf, kind: &'static str },
    #[error("-o {} is {}, an input of this run: writing the report there would destroy it", path.display(), describe_input(path, input))]
    IsInput { path: PathBuf, input: PathBuf },
    #[error("cannot write the report to {}: more than {MAX_LINKS} symbolic links to follow", path.display())]
    TooManyLinks { path: PathBuf },
}

fn describe_input(path: &Path, input: &Path) -> String {
    if path == input {
        "named as an input too".to_owned()
    } else {
        format!("the same file as {}", input.display())
    }
}

/// Where a report goes, opened before anything is probed.
#[derive(Debug)]
pub enum Destination {
    Stdout,
    /// A regular file, replaced by renaming a complete temporary file over it. `path` is the
    /// file itself, after following symbolic links.
    Replace {
        temp: tempfile::NamedTempFile,
        path: PathBuf,
    },
    /// A FIFO or a character device, written through.
    Through {
        file: File,
        path: PathBuf,
    },
}

impl Destination {
    /// Opens `path` (stdout when `None`) for a report; `inputs` are the files the run reads.
    pub fn open(path: Option<&Path>, inputs: &[PathBuf]) -> Result<Destination, OutputError> {
        let Some(path) = path else {
            return Ok(Destination::Stdout);
        };
        let target = follow_links(path)?;
        if let Some(fd) = descriptor(&target) {
            // /dev/stdout and its kin name one of this process's own descriptors: write to it as
            // a shell's `>` would, never replacing whatever file is behind it.
            if fd == 1 {
                return Ok(Destination::Stdout);
            }
            return through(&target);
        }
        let io_error = |source| OutputError::Io {
            path: path.to_owned(),
            source,
        };
        let metadata = match std::fs::metadata(&target) {
            Ok(metadata) => Some(metadata),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(e)),
        };
        if let Some(metadata) = &metadata {
            if let Some(input) = same_file_as_input(metadata, inputs) {
                return Err(OutputError::IsInput {
                    path: path.to_owned(),
                    input,
                });
            }
            let kind = metadata.file_type();
            if kind.is_fifo() || kind.is_char_device() {
                return through(&target);
            }
            if !kind.is_file() {
                return Err(OutputError::Unusable {
                    path: path.to_owned(),
                    kind: crate::input::kind_of(&kind),
                });
            }
        }
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".reach-report-");
        // A temporary file is private (0600), but the report is an ordinary output file: a
        // Prometheus textfile or a CI artifact is read by another user. Like `> file`, the
        // umask decides for a new file, and a replaced file keeps its mode.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
        let temp = builder.tempfile_in(dir).map_err(io_error)?;
        if let Some(metadata) = &metadata {
            temp.as_file()
                .set_permissions(metadata.permissions())
                .map_err(io_error)?;
        }
        Ok(Destination::Replace { temp, path: target })
    }

    /// The temporary file that will replace the destination, while there is one: what a
    /// signal that ends the run must remove.
    pub fn temp_path(&self) -> Option<&Path> {
        match self {
            Destination::Replace { temp, .. } => Some(temp.path()),
            Destination::Stdout | Destination::Through { .. } => None,
        }
    }

    pub fn is_stdout(&self) -> bool {
        matches!(self, Destination::Stdout)
    }

    /// Where the report goes, for messages.
    pub fn name(&self) -> String {
        match self {
            Destination::Stdout => "stdout".to_owned(),
            Destination::Replace { path, .. } | Destination::Through { path, .. } => {
                path.display().to_string()
            }
        }
    }

    /// Writes the whole report; a replaced file appears under its name only once it is complete,
    /// and the temporary file is removed when the write fails.
    pub fn write(self, text: &str) -> io::Result<()> {
        self.write_with(|out| out.write_all(text.as_bytes()))
    }

    /// Writes the report `fill` makes as it makes it, through a buffer, so that a large report
    /// is never held whole in memory; otherwise as [`Destination::write`].
    pub fn write_with(self, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        match self {
            Destination::Stdout => {
                let mut out = BufWriter::with_capacity(BUFFER, io::stdout().lock());
                fill(&mut out)?;
                out.flush()
            }
            Destination::Through { file, .. } => {
                let mut out = BufWriter::with_capacity(BUFFER, file);
                fill(&mut out)?;
                out.flush()
            }
            Destination::Replace { temp, path } => {
                let mut out = BufWriter::with_capacity(BUFFER, temp);
                fill(&mut out)?;
                let temp = out.into_inner().map_err(io::IntoInnerError::into_error)?;
                temp.as_file().sync_all()?;
                temp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            }
        }
    }
}

/// Bytes gathered before each write(2) of a report.
const BUFFER: usize = 64 * 1024;

fn through(target: &Path) -> Result<Destination, OutputError> {
    // No O_CREAT, no O_TRUNC: a device or a pipe is written to, never made or cut. Opening a
    // FIFO waits for its reader, as a shell's `>` does.
    let file = OpenOptions::new()
        .write(true)
        .open(target)
        .map_err(|source| OutputError::Io {
            path: target.to_owned(),
            source,
        })?;
    Ok(Destination::Through {
        file,
        path: target.to_owned(),
    })
}

/// `path` with every symbolic link along the last component followed; a path that does not
/// exist (yet) is returned as it is. Links in `/proc/*/fd` and `/dev/fd` are not followed:
/// they stand for an open descriptor, not for the file whose name they show.
fn follow_links(path: &Path) -> Result<PathBuf, OutputError> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        if descriptor(&current).is_some() {
            return Ok(current);
        }
        match std::fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let link = std::fs::read_link(&current).map_err(|source| OutputError::Io {
                    path: path.to_owned(),
                    source,
                })?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(OutputError::TooManyLinks {
        path: path.to_owned(),
    })
}

/// The descriptor number that `/dev/fd/N`, `/proc/self/fd/N` or `/proc/<this pid>/fd/N` names.
fn descriptor(path: &Path) -> Option<u32> {
    let text = path.to_str()?;
    let own = format!("/proc/{}/fd/", std::process::id());
    let number = text
        .strip_prefix("/dev/fd/")
        .or_else(|| text.strip_prefix("/proc/self/fd/"))
        .or_else(|| text.strip_prefix("/proc/thread-self/fd/"))
        .or_else(|| text.strip_prefix(own.as_str()))?;
    number.parse().ok()
}

/// The input that is the same file (device and inode) as the destination, if any.
fn same_file_as_input(destination: &std::fs::Metadata, inputs: &[PathBuf]) -> Option<PathBuf> {
    inputs
        .iter()
        .filter(|input| !crate::input::is_stdin(input))
        .find(|input| {
            std::fs::metadata(input)
                .is_ok_and(|m| m.dev() == destination.dev() && m.ino() == destination.ino())
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_replaced_whole_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let destination = Destination::open(Some(&path), &[]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "old",
            "untouched until written"
        );
        destination.write("new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn a_symlink_is_followed_and_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("reports");
        std::fs::create_dir(&sub).unwrap();
        let target = sub.join("latest.json");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("reports/latest.json", &link).unwrap();
        Destination::open(Some(&link), &[]).unwrap().write("new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        // A dangling link is followed too: its target is created.
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink("reports/new.json", &dangling).unwrap();
        Destination::open(Some(&dangling), &[])
            .unwrap()
            .write("made")
            .unwrap();
        assert_eq!(std::fs::read_to_string(sub.join("new.json")).unwrap(), "made");
        assert!(std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn an_input_is_refused_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("checks.toml");
        std::fs::write(&spec, "[[check]]").unwrap();
        let alias = dir.path().join("alias.toml");
        std::fs::hard_link(&spec, &alias).unwrap();
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&spec, &link).unwrap();
        for name in [&spec, &alias, &link] {
            let error = Destination::open(Some(name), std::slice::from_ref(&spec)).unwrap_err();
            assert!(matches!(error, OutputError::IsInput { .. }), "{error}");
        }
        assert_eq!(std::fs::read_to_string(&spec).unwrap(), "[[check]]");
    }

    #[test]
    fn a_directory_is_not_a_destination() {
        let dir = tempfile::tempdir().unwrap();
        let error = Destination::open(Some(dir.path()), &[]).unwrap_err().to_string();
        assert!(error.contains("is a directory"), "{error}");
    }

    #[test]
    fn descriptor_paths_are_recognised() {
        assert_eq!(descriptor(Path::new("/dev/fd/1")), Some(1));
        assert_eq!(descriptor(Path::new("/proc/self/fd/7")), Some(7));
        assert_eq!(descriptor(Path::new("/tmp/fd/1")), None);
        let own = format!("/proc/{}/fd/2", std::process::id());
        assert_eq!(descriptor(Path::new(&own)), Some(2));
    }

    #[test]
    fn a_link_loop_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let error = Destination::open(Some(&a), &[]).unwrap_err();
        assert!(matches!(error, OutputError::TooManyLinks { .. }), "{error}");
    }
}
