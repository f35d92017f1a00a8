//! `reach tls HOST[:PORT]`: one TLS check built from the command line (target, SNI, policy and
//! policy flags, all validated before anything is probed), run and reported like a check file.

use super::args::{parse_timeout, ColorChoice, ConnectArgs, OutputArgs};
use super::exit;
use super::session::{Environment, Session};
use crate::spec::command_line::{self, TlsRequest};
use crate::spec::PolicyFlags;
use clap::Args;
use std::time::Duration;

/// `reach tls --help`.
pub const HELP: &str = "\
Exit codes:
  0   the server meets every rule (without --policy or rule flags: it was audited)
  1   at least one rule failed (a version, suite, group or certificate it must not have)
  2   bad usage or a bad policy: nothing was probed
  3   the server could not be audited (no connection, a timeout, cut off by --deadline) and no
      rule failed, or the report could not be written
  130 interrupted by SIGINT (143: SIGTERM); no report is written
With --format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage errors too: see docs/exit-codes.md)

Examples:
  reach tls example.com --policy mozilla-intermediate
  reach tls 198.18.0.1:8443 --sni api.example.com --min-protocol TLSv1.2 --forbid cbc,rsa-kx";

#[derive(Debug, Args)]
pub struct TlsArgs {
    /// The server: HOST or HOST:PORT (443 by default); IPv6 as [::1]:443.
    #[arg(value_name = "HOST[:PORT]")]
    pub target: String,

    /// Judge the server: mozilla-intermediate, mozilla-modern, or a TOML file of tls policy keys.
    #[arg(long, value_name = "NAME|FILE")]
    pub policy: Option<String>,

    /// Server name to send in SNI and verify the certificate against (default: HOST).
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,

    /// Exactly these versions must be accepted (e.g. "TLSv1.2 TLSv1.3").
    #[arg(long, value_name = "LIST")]
    pub protocols: Option<String>,

    /// TLS 1.2 and below may accept only these suites (OpenSSL or IANA names, `:`-separated).
    #[arg(long, value_name = "LIST")]
    pub ciphers: Option<String>,

    /// TLS 1.3 may accept only these suites.
    #[arg(long = "tls13-ciphers", value_name = "LIST")]
    pub tls13_ciphers: Option<String>,

    /// The accepted suites must be exactly --ciphers / --tls13-ciphers.
    #[arg(long)]
    pub exact: bool,

    /// Suite or group classes that must not be accepted: cbc, rsa-kx, 3des, rc4, null, export,
    /// anon ..., weak-group (curves under 224 bits), ffdhe-small (ffdhe2048).
    #[arg(long, value_name = "LIST")]
    pub forbid: Option<String>,

    /// Every version below this must be refused, one at or above it accepted (e.g. TLSv1.2);
    /// replaces the protocols of --policy.
    #[arg(long = "min-protocol", value_name = "VERSION")]
    pub min_protocol: Option<String>,

    /// Where a version accepts two or more suites, the server's own order must decide.
    #[arg(long = "server-preference")]
    pub server_preference: bool,

    /// Key-exchange groups that may be accepted (x25519, secp256r1, ffdhe2048 ...); with
    /// --exact, exactly these.
    #[arg(long, value_name = "LIST")]
    pub groups: Option<String>,

    /// DHE primes and FFDHE groups must have at least this many bits.
    #[arg(long = "min-dh-bits", value_name = "BITS")]
    pub min_dh_bits: Option<u32>,

    /// Protocol features the server must show: fallback_scsv, secure_renegotiation,
    /// extended_master_secret, session_id_resumption, ticket_resumption ...
    #[arg(long, value_name = "LIST")]
    pub require: Option<String>,

    /// Protocol features the server must not show: compression, client_renegotiation,
    /// heartbleed, ccs_injection, early_data ...
    #[arg(long, value_name = "LIST")]
    pub deny: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Time one attempt of the audit may take, enumeration and handshake included (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn execute(mut args: TlsArgs, color: ColorChoice) -> u8 {
    // The audit's versions, suites and certificate are what `reach tls` is run for: its human
    // report shows them when the server passes too, as `-v` does for a check file's TLS checks.
    args.output.report.verbose = true;
    let request = TlsRequest {
        target: &args.target,
        sni: args.sni.as_deref(),
        policy: args.policy.as_deref(),
        flags: PolicyFlags {
            protocols: args.protocols.as_deref(),
            ciphers: args.ciphers.as_deref(),
            tls13_ciphers: args.tls13_ciphers.as_deref(),
            exact: args.exact,
            forbid: args.forbid.as_deref(),
            min_protocol: args.min_protocol.as_deref(),
            server_preference: args.server_preference,
            groups: args.groups.as_deref(),
            min_dh_bits: args.min_dh_bits,
            require: args.require.as_deref(),
            deny: args.deny.as_deref(),
        },
        timeout: args.timeout,
    };
    let plan = match command_line::tls(&request) {
        Ok(plan) => plan,
        Err(e) => {
            crate::cmd::stderr_line!("error: {e}");
            return exit::USAGE;
        }
    };
    // A policy that names a file is an input: `-o` must not overwrite it.
    let policy_file = args
        .policy
        .as_deref()
        .map(std::path::PathBuf::from)
        .filter(|path| path.exists());
    match Session::new(&plan, args.connect, Environment::Process, &args.output, color) {
        Ok(session) => session.with_inputs(policy_file).execute(plan),
        Err(e) => {
            crate::cmd::stderr_line!("error: {e}");
            exit::USAGE
        }
    }
}
