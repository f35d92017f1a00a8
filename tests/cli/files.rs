//! Files reach reads and writes: inputs are read only from regular files (or stdin) and within a
//! size cap; `-o` replaces a file atomically, follows a symlink, writes through a FIFO or a
//! device, refuses to overwrite an input, and leaves no temporary file behind when a signal
//! ends the run; a report that cannot be written after probing is exit 3 (or 1), never 2.
//!
//! FIFOs and device nodes are made in the test's own temporary directory (a device node with
//! `mknod`, as root; the test says so and skips that part otherwise): no test writes to a
//! system path.

use crate::util::{hanging_port, open_port, Output, Reach, Workspace};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn passing_spec(port: u16) -> String {
    format!(
        "[[check]]\nname = \"api\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nexpect = \"open\"\n"
    )
}

fn failing_spec(port: u16) -> String {
    format!("[[check]]\nname = \"api\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\nexpect = \"closed\"\n")
}

fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o600)).expect("mkfifo");
    path
}

/// A character device node in `dir` with the numbers of a kernel device (1,3 is the null device,
/// 1,7 the full one), or None (with the reason printed) when this process may not make one.
fn device(dir: &Path, name: &str, minor: u64) -> Option<PathBuf> {
    let path = dir.join(name);
    match mknod(
        &path,
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o600),
        makedev(1, minor),
    ) {
        Ok(()) => Some(path),
        Err(e) => {
            eprintln!("skipped: cannot make a device node ({e}); run the tests as root");
            None
        }
    }
}

/// Reads a FIFO to its end on another thread.
fn drain(path: &Path) -> std::thread::JoinHandle<String> {
    let path = path.to_owned();
    std::thread::spawn(move || {
        let mut text = String::new();
        std::fs::File::open(&path)
            .expect("open the fifo")
            .read_to_string(&mut text)
            .expect("read the fifo");
        text
    })
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".reach-report-"))
        .collect()
}

#[test]
fn a_symlink_is_followed_and_its_target_replaced() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("a.toml", &passing_spec(api));
    std::fs::create_dir(ws.path().join("reports")).unwrap();
    ws.write("reports/today.json", "old");
    std::os::unix::fs::symlink("reports/today.json", ws.path().join("latest.json")).unwrap();
    ws.reach()
        .args(["run", "a.toml", "--format", "json", "-o", "latest.json"])
        .output()
        .expect_code(0);
    let link = std::fs::symlink_metadata(ws.path().join("latest.json")).unwrap();
    assert!(link.file_type().is_symlink(), "the symlink stays a symlink");
    let written = std::fs::read_to_string(ws.path().join("reports/today.json")).unwrap();
    assert!(written.contains("\"schema_version\""), "{written}");
    assert!(leftovers(ws.path()).is_empty() && leftovers(&ws.path().join("reports")).is_empty());
}

#[test]
fn a_fifo_is_written_through_not_replaced() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("a.toml", &passing_spec(api));
    let pipe = fifo(ws.path(), "report.pipe");
    let reader = drain(&pipe);
    ws.reach()
        .args(["run", "a.toml", "-o", "report.pipe"])
        .output()
        .expect_code(0);
    let text = reader.join().unwrap();
    assert!(text.contains("1 checks in"), "{text}");
    assert!(std::fs::metadata(&pipe).unwrap().file_type().is_fifo());
    assert!(leftovers(ws.path()).is_empty());
}

#[test]
fn a_character_device_is_written_through_not_replaced() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("a.toml", &passing_spec(api));
    let Some(null) = device(ws.path(), "null", 3) else {
        return;
    };
    ws.reach()
        .args(["run", "a.toml", "-o", "null"])
        .output()
        .expect_code(0);
    assert!(
        std::fs::metadata(&null).unwrap().file_type().is_char_device(),
        "the device node was replaced by a file"
    );
    assert!(leftovers(ws.path()).is_empty());

    // /dev/stdout names this process's own stdout: the report goes there.
    let out = ws
        .reach()
        .args(["run", "a.toml", "-o", "/dev/stdout"])
        .output()
        .expect_code(0);
    assert!(out.stdout.contains("1 checks in"), "{}", out.stdout);
}

#[test]
fn an_input_of_the_run_is_never_the_report() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    let spec = ws.write("a.toml", &passing_spec(api));
    std::os::unix::fs::symlink("a.toml", ws.path().join("alias.toml")).unwrap();
    std::fs::hard_link(&spec, ws.path().join("hard.toml")).unwrap();
    let ca = ws.write("ca.pem", &crate::pki::Pki::new().ca_pem());
    let ca_text = std::fs::read_to_string(&ca).unwrap();
    for target in ["a.toml", "./a.toml", "alias.toml", "hard.toml"] {
        let out = ws
            .reach()
            .args(["run", "a.toml", "-o", target])
            .output()
            .expect_code(2);
        assert!(
            out.stderr.contains("an input of this run"),
            "{target}: {}",
            out.stderr
        );
    }
    let ca_name = ca.file_name().unwrap().to_str().unwrap().to_owned();
    let out = ws
        .reach()
        .args(["run", "a.toml", "--ca-file", &ca_name, "-o", &ca_name])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("an input of this run"), "{}", out.stderr);
    ws.write("policy.toml", "protocols = [\"TLSv1.3\"]\n");
    let out = ws
        .reach()
        .args([
            "tls",
            &format!("127.0.0.1:{api}"),
            "--policy",
            "policy.toml",
            "-o",
            "policy.toml",
        ])
        .output()
        .expect_code(2);
    assert!(out.stderr.contains("an input of this run"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&spec).unwrap(), passing_spec(api));
    assert_eq!(std::fs::read_to_string(&ca).unwrap(), ca_text);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("policy.toml")).unwrap(),
        "protocols = [\"TLSv1.3\"]\n"
    );
}

/// Starts `reach run` on a check that hangs, with `-o report.json`, and waits for its temporary
/// report file to appear.
fn hanging_run(ws: &Workspace, hanging: u16) -> std::process::Child {
    ws.write(
        "h.toml",
        &format!(
            "[[check]]\nname = \"hangs\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {hanging}\nexpect = \"open\"\ntimeout = \"30s\"\n"
        ),
    );
    let mut reach = ws.reach().args(["run", "h.toml", "-o", "report.json"]);
    let child = reach
        .command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    while leftovers(ws.path()).is_empty() {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn a_signal_removes_the_temporary_file_and_keeps_the_old_report() {
    let (_listener, _held, hanging) = hanging_port();
    for (signal, code) in [("-TERM", 143), ("-INT", 130)] {
        let ws = Workspace::new();
        ws.write("report.json", "yesterday");
        let child = hanging_run(&ws, hanging);
        let killed = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{signal}: {stderr}");
        assert!(stderr.contains("no report was written"), "{stderr}");
        assert!(
            leftovers(ws.path()).is_empty(),
            "{signal}: {:?}",
            leftovers(ws.path())
        );
        assert_eq!(
            std::fs::read_to_string(ws.path().join("report.json")).unwrap(),
            "yesterday"
        );
    }
}

#[test]
fn endless_or_special_inputs_are_refused_at_once() {
    let ws = Workspace::new();
    let pipe = fifo(ws.path(), "checks.pipe");
    let big = ws.path().join("big.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(9 * 1024 * 1024)
        .unwrap();
    // Endless devices are only read, never written: they stand for any input that never ends.
    for (input, needle) in [
        ("/dev/zero", "is a character device"),
        ("/dev/urandom", "is a character device"),
        ("checks.pipe", "is a FIFO"),
        ("big.toml", "larger than 8 MiB"),
        (".", "is a directory"),
    ] {
        let started = Instant::now();
        let out = ws.reach().args(["run", input]).output().expect_code(2);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{input} took {:?}",
            started.elapsed()
        );
        assert!(out.stderr.contains(needle), "{input}: {}", out.stderr);
        let out = ws.reach().args(["validate", input]).output().expect_code(2);
        assert!(out.stderr.contains(needle), "{input}: {}", out.stderr);
    }
    let spec = ws.write("a.toml", &passing_spec(1));
    for flags in [
        vec!["run", "a.toml", "--ca-file", "checks.pipe"],
        vec!["tls", "127.0.0.1:1", "--ca-file", "/dev/zero"],
        vec!["tls", "127.0.0.1:1", "--policy", "checks.pipe"],
    ] {
        let started = Instant::now();
        let out = ws.reach().args(&flags).output().expect_code(2);
        assert!(started.elapsed() < Duration::from_secs(2), "{flags:?}");
        assert!(
            out.stderr.contains("is a FIFO") || out.stderr.contains("is a character device"),
            "{flags:?}: {}",
            out.stderr
        );
    }
    assert!(spec.exists() && pipe.exists());
}

#[test]
fn stdin_is_an_input_with_the_same_cap() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    let spec = ws.write("a.toml", &passing_spec(api));
    let piped = |stdin: std::fs::File| -> Output {
        let mut reach = ws.reach().args(["run", "-"]);
        let out = reach.command.stdin(stdin).output().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let out = piped(std::fs::File::open(&spec).unwrap()).expect_code(0);
    assert!(out.stdout.contains("from stdin"), "{}", out.stdout);
    let started = Instant::now();
    let out = piped(std::fs::File::open("/dev/zero").unwrap()).expect_code(2);
    assert!(out.stderr.contains("larger than 8 MiB"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_report_that_cannot_be_written_after_probing_is_exit_3_or_1_never_2() {
    let (_api, api) = open_port();
    let ws = Workspace::new();
    ws.write("pass.toml", &passing_spec(api));
    ws.write("fail.toml", &failing_spec(api));

    // A reader that goes away before the report is written: a closed FIFO. A silent port that
    // must be filtered makes the run take 300 ms, so the reader has long gone when reach writes.
    let (_socket, _held, silent) = crate::util::hanging_port();
    let slow = format!(
        "\n[[check]]\nname = \"silent\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {silent}\n\
         expect = \"filtered\"\ntimeout = \"300ms\"\nretries = 0\n"
    );
    ws.write("slow-pass.toml", &(passing_spec(api) + &slow));
    ws.write("slow-fail.toml", &(failing_spec(api) + &slow));
    for (spec, code) in [("slow-pass.toml", 3), ("slow-fail.toml", 1)] {
        let pipe = fifo(ws.path(), &format!("{spec}.pipe"));
        let reader = {
            let pipe = pipe.clone();
            std::thread::spawn(move || drop(std::fs::File::open(pipe).unwrap()))
        };
        let out = ws
            .reach()
            .args(["run", spec, "-o", pipe.to_str().unwrap()])
            .output()
            .expect_code(code);
        reader.join().unwrap();
        assert!(out.stderr.contains("cannot write the report"), "{}", out.stderr);
        assert!(
            out.stderr.contains("2 checks in") && out.stderr.contains("this report was not written"),
            "the summary is on stderr: {}",
            out.stderr
        );
    }

    // A full disk: a node of the kernel's full device, made in the test's directory.
    let Some(full) = device(ws.path(), "full", 7) else {
        return;
    };
    for (spec, code) in [("pass.toml", 3), ("fail.toml", 1)] {
        let out = ws
            .reach()
            .args(["run", spec, "-o", full.to_str().unwrap()])
            .output()
            .expect_code(code);
        assert!(out.stderr.contains("No space left on device"), "{}", out.stderr);
        assert!(out.stderr.contains("1 checks in"), "{}", out.stderr);
    }
    // Before probing, an unusable destination is still a usage error.
    let out = Reach::new()
        .args(["run", ws.path().join("pass.toml").to_str().unwrap()])
        .args(["-o", "/nonexistent-dir-for-reach-tests/report.json"])
        .output()
        .expect_code(2);
    assert!(out.stdout.is_empty() && out.stderr.contains("cannot write the report"));
}
