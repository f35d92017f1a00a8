//! The hickory resolvers a run asks: one per server and protocol, built on first use.

use crate::dns::DnsProtocol;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{Name, TokioResolver};
use std::net::SocketAddr;
use std::time::Duration;

/// How long hickory itself waits; each lookup is cut off earlier by its check's own timeout.
const HICKORY_TIMEOUT: Duration = Duration::from_secs(60);

/// Which hickory resolver answers: one per server and protocol, built on first
/// use and shared by the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// `None`: the system configuration.
    pub server: Option<SocketAddr>,
    pub protocol: DnsProtocol,
}

pub struct Client {
    pub resolver: TokioResolver,
    /// Who answers, for reports.
    pub label: String,
}

pub fn build_client(key: ClientKey) -> Client {
    let (config, mut options, label) = match key.server {
        Some(address) => {
            let protocols: &[Protocol] = match key.protocol {
                DnsProtocol::Auto => &[Protocol::Udp, Protocol::Tcp],
                DnsProtocol::Udp => &[Protocol::Udp],
                DnsProtocol::Tcp => &[Protocol::Tcp],
            };
            let mut group = NameServerConfigGroup::new();
            for &protocol in protocols {
                group.push(NameServerConfig::new(address, protocol));
            }
            let label = match key.protocol {
                DnsProtocol::Tcp => format!("{address}/tcp"),
                _ => address.to_string(),
            };
            (
                ResolverConfig::from_parts(None, Vec::new(), group),
                ResolverOpts::default(),
                label,
            )
        }
        None => match hickory_resolver::system_conf::read_system_conf() {
            Ok((config, options)) => {
                let servers: Vec<String> = config
                    .name_servers()
                    .iter()
                    .filter(|s| s.protocol == Protocol::Udp)
                    .map(|s| s.socket_addr.to_string())
                    .collect();
                let label = format!("system resolver ({})", servers.join(", "));
                (config, options, label)
            }
            // Never a built-in public resolver: with no configuration, only /etc/hosts answers.
            Err(e) => (
                ResolverConfig::from_parts(None, Vec::new(), NameServerConfigGroup::new()),
                ResolverOpts::default(),
                format!("system resolver (unconfigured: {e})"),
            ),
        },
    };
    options.timeout = HICKORY_TIMEOUT;
    // The runner retries inconclusive attempts itself, with backoff and a deadline.
    options.attempts = 0;
    options.cache_size = 0;
    options.preserve_intermediates = true;
    options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    // /etc/hosts is read by `Resolver::lookup_addresses` itself, so that a name found there
    // is not also sent to a DNS server for its other address family.
    options.use_hosts_file = ResolveHosts::Never;
    // Several servers are tried in the order given, so the one reported is the one asked first.
    options.server_ordering_strategy = hickory_resolver::config::ServerOrderingStrategy::UserProvidedOrder;
    if key.protocol == DnsProtocol::Udp {
        options.try_tcp_on_error = false;
    }
    let mut builder = TokioResolver::builder_with_config(config, TokioConnectionProvider::default());
    *builder.options_mut() = options;
    Client {
        resolver: builder.build(),
        label,
    }
}

pub fn fqdn(name: &str) -> Result<Name, hickory_resolver::proto::ProtoError> {
    let mut name = Name::from_ascii(name)?;
    name.set_fqdn(true);
    Ok(name)
}
