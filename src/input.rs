//! Reading the files a user hands reach (check files, `--ca-file`, policy files): one function,
//! so every input gets the same guards. Only a regular file or stdin (`-`) is read, and at most
//! [`MAX_INPUT`] bytes of it: `/dev/zero`, `/dev/urandom`, a FIFO nobody writes to or a
//! multi-gigabyte log given by mistake is a clear usage error at once, not a hang or an
//! exhausted memory.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest input reach reads: far above any real check file (10,000 checks take about
/// 1 MiB) or CA bundle (the Mozilla roots take 200 KiB).
pub const MAX_INPUT: u64 = 8 * 1024 * 1024;

/// How the error messages name [`MAX_INPUT`].
const MAX_INPUT_WORDS: &str = "8 MiB";

/// The path that means stdin.
pub const STDIN: &str = "-";

/// Why an input could not be read; the message names the path.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} is {kind}, not a regular file: inputs are read only from regular files or stdin (-)", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{} is larger than {MAX_INPUT_WORDS}, the most reach reads from an input", path.display())]
    TooLarge { path: PathBuf },
    #[error("{} is not UTF-8 text", path.display())]
    NotText { path: PathBuf },
}

/// True when `path` is `-`, which reads stdin.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// The bytes of `path` (or of stdin for `-`), at most [`MAX_INPUT`] of them.
pub fn read(path: &Path) -> Result<Vec<u8>, InputError> {
    let at = || path.to_owned();
    if is_stdin(path) {
        return capped(io::stdin().lock(), path);
    }
    let file = open(path).map_err(|source| InputError::Io { path: at(), source })?;
    let metadata = file
        .metadata()
        .map_err(|source| InputError::Io { path: at(), source })?;
    if !metadata.is_file() {
        return Err(InputError::NotRegular {
            path: at(),
            kind: kind_of(&metadata.file_type()),
        });
    }
    if metadata.len() > MAX_INPUT {
        return Err(InputError::TooLarge { path: at() });
    }
    // The size is checked again while reading: a file that grows, or a /proc file that says 0.
    capped(file, path)
}

/// The text of `path` (or of stdin for `-`), which must be UTF-8.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    String::from_utf8(read(path)?).map_err(|_| InputError::NotText {
        path: path.to_owned(),
    })
}

/// Opens without blocking: opening a FIFO for reading waits for a writer otherwise, and the
/// file type must be checked before anything is read.
fn open(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

fn capped(reader: impl Read, path: &Path) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| InputError::Io {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

/// A file type in words, for the error that refuses it.
pub fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "x = 1\n").unwrap();
        assert_eq!(read_text(&path).unwrap(), "x = 1\n");
    }

    #[test]
    fn an_endless_device_is_refused_at_once_with_its_kind() {
        let started = Instant::now();
        // /dev/zero is only opened for reading and never written: it stands for every endless input.
        let error = read(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(error.contains("/dev/zero is a character device"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_fifo_without_a_writer_is_refused_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let error = read(&fifo).unwrap_err().to_string();
        assert!(error.contains("is a FIFO"), "{error}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_naming_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        let file = File::create(&path).unwrap();
        file.set_len(MAX_INPUT + 1).unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains("larger than 8 MiB"), "{error}");
        let error = capped(io::repeat(b'x'), Path::new("-")).unwrap_err().to_string();
        assert!(error.contains("larger than 8 MiB"), "{error}");
    }

    #[test]
    fn binary_input_is_not_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin");
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        assert!(read_text(&path).unwrap_err().to_string().contains("not UTF-8"));
    }
}
