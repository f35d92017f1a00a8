//! This host's own resolver configuration, used when no `--dns-server` is given:
//! `/etc/resolv.conf` (nameservers in order, search domains, `ndots`, `timeout`, `attempts`,
//! read with the resolv-conf crate) and `/etc/hosts`.
//!
//! Like the C library, lines reach cannot read in resolv.conf are skipped; options that change
//! how a stub talks (`rotate`, `use-vc`, `edns0`, `single-request`...) are not used: reach asks
//! the servers in order so that a report names the one that answered, over the check's protocol.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::time::Duration;

const RESOLV_CONF: &str = "/etc/resolv.conf";
const HOSTS: &str = "/etc/hosts";

/// What resolv.conf says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemConf {
    /// The nameservers, in order, without duplicates.
    pub servers: Vec<SocketAddr>,
    /// Search domains (`search`, else `domain`), tried for names with fewer than `ndots` dots
    /// before the name itself, and after it for the others.
    pub search: Vec<String>,
    pub ndots: usize,
    /// `options timeout:N`: the longest wait for one server before the next is asked.
    pub timeout: Duration,
    /// `options attempts:N`: rounds over the servers within one attempt of a check.
    pub attempts: u32,
}

/// Why the system's resolver configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SystemConfError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} lists no nameserver", path.display())]
    NoServer { path: PathBuf },
}

impl SystemConf {
    /// Reads `/etc/resolv.conf`.
    pub fn read() -> Result<SystemConf, SystemConfError> {
        SystemConf::read_from(Path::new(RESOLV_CONF))
    }

    fn read_from(path: &Path) -> Result<SystemConf, SystemConfError> {
        let bytes = std::fs::read(path).map_err(|source| SystemConfError::Read {
            path: path.to_owned(),
            source,
        })?;
        let conf = SystemConf::parse(&bytes);
        if conf.servers.is_empty() {
            // The C library would ask 127.0.0.1 then; reach asks nobody it was not told about.
            return Err(SystemConfError::NoServer {
                path: path.to_owned(),
            });
        }
        Ok(conf)
    }

    /// Parses resolv.conf text, skipping what cannot be read, as the C library does.
    pub fn parse(bytes: &[u8]) -> SystemConf {
        let (config, _skipped) = resolv_conf::Config::parse_with_errors(bytes);
        let mut servers: Vec<SocketAddr> = Vec::new();
        for server in &config.nameservers {
            let address = match server {
                resolv_conf::ScopedIp::V4(ip) => SocketAddr::new(IpAddr::V4(*ip), crate::dns::DNS_PORT),
                resolv_conf::ScopedIp::V6(ip, scope) => {
                    // A numeric scope (`fe80::1%2`); an interface name cannot be looked up
                    // without unsafe code, and a link-local address without it is refused by
                    // the kernel with a message that says so.
                    let scope = scope.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0);
                    SocketAddr::V6(SocketAddrV6::new(*ip, crate::dns::DNS_PORT, 0, scope))
                }
            };
            if !servers.contains(&address) {
                servers.push(address);
            }
        }
        SystemConf {
            servers,
            search: config
                .get_last_search_or_domain()
                .map(|domain| domain.trim_end_matches('.').to_owned())
                .filter(|domain| !domain.is_empty())
                .collect(),
            ndots: usize::try_from(config.ndots).unwrap_or(usize::MAX),
            timeout: Duration::from_secs(u64::from(config.timeout.max(1))),
            attempts: config.attempts.max(1),
        }
    }

    /// The names to ask for `name`, in order, as the C library's `res_search` does: a name with
    /// a final dot is only itself; one with at least `ndots` dots is tried as written first,
    /// then with each search domain; others the other way round.
    pub fn candidates(&self, name: &str) -> Vec<String> {
        if let Some(absolute) = name.strip_suffix('.') {
            return vec![absolute.to_owned()];
        }
        let searched = self.search.iter().map(|domain| format!("{name}.{domain}"));
        if name.matches('.').count() >= self.ndots {
            std::iter::once(name.to_owned()).chain(searched).collect()
        } else {
            searched.chain(std::iter::once(name.to_owned())).collect()
        }
    }
}

/// `/etc/hosts`: names (case-insensitive) and their addresses, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostsFile {
    entries: HashMap<String, Vec<IpAddr>>,
}

impl HostsFile {
    /// Reads `/etc/hosts`; a missing or unreadable file answers nothing, as for the C library.
    pub fn read() -> HostsFile {
        std::fs::read_to_string(HOSTS)
            .map(|text| HostsFile::parse(&text))
            .unwrap_or_default()
    }

    pub fn parse(text: &str) -> HostsFile {
        let mut entries: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            let Some(address) = fields.next().and_then(|a| a.parse::<IpAddr>().ok()) else {
                continue;
            };
            for name in fields {
                let found = entries.entry(crate::dns::canonical_name(name)).or_default();
                if !found.contains(&address) {
                    found.push(address);
                }
            }
        }
        HostsFile { entries }
    }

    /// The addresses the file gives `name`, if it names it.
    pub fn lookup(&self, name: &str) -> Option<&[IpAddr]> {
        self.entries
            .get(&crate::dns::canonical_name(name))
            .map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_gives_servers_in_order_search_domains_and_options() {
        let conf = SystemConf::parse(
            b"# comment\nnameserver 10.0.0.2\nnameserver fd00::53\nnameserver 10.0.0.2\n\
              search svc.cluster.local cluster.local.\noptions ndots:5 timeout:1 attempts:3 rotate\n\
              sortlist 130.155.160.0/255.255.240.0\nnonsense here\n",
        );
        assert_eq!(
            conf.servers,
            [
                "10.0.0.2:53".parse::<SocketAddr>().unwrap(),
                "[fd00::53]:53".parse().unwrap()
            ]
        );
        assert_eq!(conf.search, ["svc.cluster.local", "cluster.local"]);
        assert_eq!(
            (conf.ndots, conf.timeout, conf.attempts),
            (5, Duration::from_secs(1), 3)
        );
        let defaults = SystemConf::parse(b"nameserver 10.0.0.2\n");
        assert_eq!(
            (defaults.ndots, defaults.timeout, defaults.attempts),
            (1, Duration::from_secs(5), 2)
        );
    }

    #[test]
    fn search_domains_come_first_for_short_names_and_last_for_long_ones() {
        let conf = SystemConf::parse(b"nameserver 10.0.0.2\nsearch a.test b.test\noptions ndots:2\n");
        assert_eq!(conf.candidates("api"), ["api.a.test", "api.b.test", "api"]);
        assert_eq!(
            conf.candidates("db.shop.test"),
            ["db.shop.test", "db.shop.test.a.test", "db.shop.test.b.test"]
        );
        assert_eq!(conf.candidates("api."), ["api"]);
    }

    #[test]
    fn a_resolv_conf_without_nameserver_is_refused_rather_than_guessed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resolv.conf");
        std::fs::write(&path, "search a.test\n").unwrap();
        let err = SystemConf::read_from(&path).unwrap_err();
        assert!(err.to_string().ends_with("lists no nameserver"), "{err}");
    }

    #[test]
    fn hosts_names_are_case_insensitive_and_keep_every_address() {
        let hosts = HostsFile::parse(
            "127.0.0.1 localhost\n::1 localhost ip6-localhost # loopback\n10.0.0.5 Db.Internal db\n",
        );
        assert_eq!(
            hosts.lookup("LOCALHOST."),
            Some(&["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()][..])
        );
        assert_eq!(hosts.lookup("db"), Some(&["10.0.0.5".parse().unwrap()][..]));
        assert_eq!(
            hosts.lookup("db.internal"),
            Some(&["10.0.0.5".parse().unwrap()][..])
        );
        assert_eq!(hosts.lookup("other"), None);
    }
}
