//! `reach completions SHELL` and `reach man [COMMAND]`, checked by the shells and by groff
//! themselves rather than by reading the text.

use crate::util::{pipe_without_reader, Reach, Workspace};
use std::process::Command;

/// Whether `program` can be run; a test that needs it says why it skips, and fails instead
/// under REACH_REQUIRE_TOOLS=1 (CI installs them).
fn have(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("REACH_REQUIRE_TOOLS").is_none(),
            "{program} is required (REACH_REQUIRE_TOOLS=1) but missing"
        );
        eprintln!("skipped: {program} is not installed");
    }
    found
}

#[test]
fn the_bash_and_zsh_completions_are_scripts_their_shells_accept() {
    let ws = Workspace::new();
    for (shell, file) in [("bash", "reach.bash"), ("zsh", "_reach")] {
        if !have(shell) {
            continue;
        }
        let out = Reach::new().args(["completions", shell]).output().expect_code(0);
        // Every command and a flag of each, so a new flag cannot be left out of completion.
        for word in [
            "run",
            "scan",
            "tls",
            "listeners",
            "--tls13-ciphers",
            "--dns-server",
        ] {
            assert!(out.stdout.contains(word), "{shell} completion lacks {word}");
        }
        let path = ws.write(file, &out.stdout);
        let checked = Command::new(shell)
            .arg("-n")
            .arg(&path)
            .output()
            .expect("run shell");
        assert!(
            checked.status.success(),
            "{shell} -n rejects the script: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    // `reach completions bash | head`: a reader that has gone away. With its read end closed
    // before reach starts, every write fails with EPIPE, deterministically.
    for args in [&["completions", "bash"][..], &["man"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_reach"))
            .args(args)
            .stdout(pipe_without_reader())
            .output()
            .expect("run reach");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn the_man_pages_render_without_warnings_and_name_every_flag() {
    if !have("groff") {
        return;
    }
    let ws = Workspace::new();
    for (command, flags) in [
        (None, &["--version"][..]),
        (
            Some("run"),
            &["--vantage", "--deadline", "--ca-file", "--format", "--color"][..],
        ),
        (Some("scan"), &["--allow", "--top", "--retries"][..]),
        (Some("tls"), &["--policy", "--sni", "--forbid"][..]),
    ] {
        let args: Vec<&str> = std::iter::once("man").chain(command).collect();
        let out = Reach::new().args(&args).output().expect_code(0);
        let title = match command {
            Some(name) => format!(".TH reach-{name} 1"),
            None => ".TH reach 1".to_owned(),
        };
        assert!(out.stdout.contains(&title), "{title} missing:\n{}", out.stdout);
        for flag in flags {
            // roff escapes the dashes of options.
            let escaped = flag.replace('-', "\\-");
            assert!(
                out.stdout.contains(&escaped),
                "{args:?}: {flag} is not documented"
            );
        }
        let page = ws.write("page.1", &out.stdout);
        let rendered = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&page)
            .output()
            .expect("run groff");
        assert!(
            rendered.status.success() && rendered.stderr.is_empty(),
            "groff warns about `reach {args:?}`: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
    }
}

#[test]
fn an_unknown_command_has_no_man_page_and_says_which_exist() {
    let out = Reach::new().args(["man", "nope"]).output().expect_code(2);
    assert!(
        out.stderr.contains("no command `nope`") && out.stderr.contains("scan"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}
