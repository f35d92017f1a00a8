//! `reach listeners`: an inventory of this host's listening sockets, plus one `listen` check per
//! `--internal` port (it must not listen on a wildcard address).

use crate::app::{self, View};
use crate::cli::{ColorChoice, ListenersArgs};
use crate::outcome::Transport;
use crate::probe::Ctx;
use crate::report;
use crate::run::RunOptions;
use crate::spec::{Check, ListenCheck, ListenExpectation, Plan, ProbeSpec, Source};
use std::time::Duration;

pub fn run(args: &ListenersArgs, color: ColorChoice) -> u8 {
    let check = |id: String, name: String, probe: ListenCheck| Check {
        id,
        name,
        tags: Vec::new(),
        vantage: Vec::new(),
        source: Source {
            file: "command line".to_owned(),
            line: 1,
        },
        timeout: Duration::from_secs(5),
        retries: 0,
        probe: ProbeSpec::Listen(probe),
    };
    let mut checks = vec![check(
        "listeners.inventory".to_owned(),
        "listening sockets".to_owned(),
        ListenCheck {
            transport: None,
            port: None,
            expect: None,
        },
    )];
    for &port in args.internal.iter().flat_map(|list| &list.0) {
        checks.push(check(
            format!("listeners.internal/{port}"),
            format!("tcp/{port} internal: not on a wildcard address"),
            ListenCheck {
                transport: Some(Transport::Tcp),
                port: Some(port),
                expect: Some(ListenExpectation::NotWildcard),
            },
        ));
    }
    let plan = Plan {
        files: Vec::new(),
        checks,
    };
    let view = View {
        human: report::listeners::render,
        progress: None,
    };
    app::execute_with(
        plan,
        Ctx::default(),
        &RunOptions::default(),
        &args.output,
        color,
        view,
    )
}
