//! The test harness: a temporary directory for spec files, a builder that runs the built `reach`
//! and captures exit code, stdout and stderr, loopback listeners, and JSON Schema validation.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What one run of `reach` produced.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics with the whole output when the exit code is not `expected`.
    #[track_caller]
    pub fn expect_code(self, expected: i32) -> Output {
        assert_eq!(
            self.code, expected,
            "exit code {} (wanted {expected})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Parses stdout as a JSON report and validates it against the published schema.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        let report: serde_json::Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout));
        assert_valid_report(&report);
        report
    }
}

/// A scratch directory for spec files, removed when dropped.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `name` in the workspace and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write spec");
        path
    }

    /// A `reach` command that runs in this workspace, so spec paths in output are relative.
    pub fn reach(&self) -> Reach {
        let mut reach = Reach::new();
        reach.command.current_dir(self.dir.path());
        reach
    }
}

/// The built `reach` binary with arguments.
pub struct Reach {
    pub command: Command,
}

impl Reach {
    pub fn new() -> Reach {
        Reach::wrapped(&[])
    }

    /// `reach` run through another program, e.g. `ip netns exec NAME`.
    pub fn wrapped(prefix: &[&str]) -> Reach {
        let mut command = match prefix.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(env!("CARGO_BIN_EXE_reach"));
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_reach")),
        };
        // Tests must not depend on the developer's terminal or variables.
        command
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .env("TERM", "dumb");
        for (key, _) in std::env::vars() {
            if key.starts_with("REACH_VAR_") {
                command.env_remove(key);
            }
        }
        // Nor on the developer's proxies and API keys.
        for key in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "NO_PROXY",
            "no_proxy",
            "DEEPGRAM_KEY",
            "DEEPGRAM_API_KEY",
            "OPENAI_API_KEY",
            "GROQ_API_KEY",
            "HF_TOKEN",
        ] {
            command.env_remove(key);
        }
        Reach { command }
    }

    pub fn args<I, S>(mut self, args: I) -> Reach
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Reach {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Reach {
        self.command.env_remove(key);
        self
    }

    pub fn output(mut self) -> Output {
        let out = self.command.output().expect("run reach");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A listener on a free loopback port: the port is open while the listener lives.
pub fn open_port() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    (listener, port)
}

/// A loopback port where nothing listens: bound, then released.
pub fn closed_port() -> u16 {
    open_port().1
}

/// The write end of a pipe whose read end is already closed: every write to it fails with EPIPE,
/// deterministically (`reach ... | head` once head has gone). Close-on-exec, as std's
/// `io::pipe` (Rust 1.87, above the MSRV) makes it: a reach that another test spawns meanwhile
/// must not inherit the read end and keep the pipe alive.
pub fn pipe_without_reader() -> std::os::fd::OwnedFd {
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
    drop(reader);
    writer
}

/// Validates a JSON report against the schema that `reach schema` publishes.
#[track_caller]
pub fn assert_valid_report(report: &serde_json::Value) {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let schema: serde_json::Value = serde_json::from_str(&Reach::new().args(["schema"]).output().stdout)
            .expect("reach schema prints JSON");
        jsonschema::validator_for(&schema).expect("the published schema compiles")
    });
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match the schema:\n{}\n{report:#}",
        errors.join("\n")
    );
}

/// Insta filters that hide what changes from run to run: ports, times, dates.
pub fn stable_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"port \d+", "port [PORT]"),
        (r"\d+(\.\d+)?(ms|s)\b", "[TIME]"),
        (
            r#""(duration_ms|elapsed_ms|dns_ms|tcp_ms)": [0-9.]+"#,
            r#""$1": "[MS]""#,
        ),
        (r#""started_at": "[^"]+""#, r#""started_at": "[DATE]""#),
        (r#""version": "[^"]+""#, r#""version": "[VERSION]""#),
        (r"reach \d+\.\d+\.\d+", "reach [VERSION]"),
    ]
}

/// A loopback port whose accept queue is full, so the kernel drops new SYNs: connects to it hang
/// until they time out, like a port behind a DROP rule. Keep the returned value alive.
pub fn hanging_port() -> (socket2::Socket, Vec<std::net::TcpStream>, u16) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket
        .bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into())
        .expect("bind");
    socket.listen(0).expect("listen");
    let address = socket.local_addr().unwrap().as_socket().unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_millis(300)) {
            Ok(stream) => held.push(stream),
            Err(_) => return (socket, held, address.port()),
        }
    }
    panic!("the accept queue of {address} never filled");
}

/// `reach validate` and `reach run` on `spec` (as `bad.toml`) both exit 2 with `needle` reported
/// at `location` (`"LINE:"` or `"LINE:COL: "` after the file name), and print no report.
#[track_caller]
pub fn assert_rejected_at(spec: &str, location: &str, needle: &str) {
    let ws = Workspace::new();
    ws.write("bad.toml", spec);
    for command in ["validate", "run"] {
        let out = ws.reach().args([command, "bad.toml"]).output().expect_code(2);
        let located = format!("bad.toml:{location}");
        assert!(
            out.stderr.contains(&located) && out.stderr.contains(needle),
            "`reach {command}` should report `{located}` and `{needle}`:\n{}",
            out.stderr
        );
        assert!(
            out.stdout.is_empty(),
            "nothing is reported when nothing ran: {}",
            out.stdout
        );
    }
}

/// Reads from `stream` until an HTTP request head has ended (a blank line); false when the
/// client closed or failed first.
pub fn read_request_head(stream: &mut impl std::io::Read) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// A loopback server that answers every connection with `answer` once the request head has
/// arrived, then closes it: for answers no well-behaved server library would send. Returns its
/// port; the server lives as long as the test process.
pub fn raw_http_server(answer: Vec<u8>) -> u16 {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                if !read_request_head(&mut stream) {
                    return;
                }
                let _ = stream.write_all(&answer);
            });
        }
    });
    port
}

/// A loopback server that accepts every connection and never sends a byte: a hung service.
/// Returns its port; the server and the connections it accepted live as long as the test
/// process.
pub fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.extend(stream.ok());
        }
    });
    port
}
