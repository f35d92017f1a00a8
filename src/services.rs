//! Well-known TCP services: the name an auditor expects to see next to a port, and the ranked
//! list behind `--top N`. Data only; the ranking favours what deployments expose by mistake
//! (databases, caches, queues, admin and metrics endpoints) over historical Internet services.

/// Ports in rank order with their usual service. The first `N` entries are `--top N`.
const RANKED: &[(u16, &str)] = &[
    (22, "ssh"),
    (80, "http"),
    (443, "https"),
    (8080, "http-alt"),
    (8000, "http-alt"),
    (3000, "grafana/dev-server"),
    (5432, "postgresql"),
    (6379, "redis"),
    (3306, "mysql"),
    (27017, "mongodb"),
    (9200, "elasticsearch"),
    (5555, "flower"),
    (21, "ftp"),
    (23, "telnet"),
    (25, "smtp"),
    (53, "domain"),
    (8443, "https-alt"),
    (3389, "rdp"),
    (5900, "vnc"),
    (445, "smb"),
    (139, "netbios-ssn"),
    (135, "msrpc"),
    (111, "rpcbind"),
    (2049, "nfs"),
    (11211, "memcached"),
    (5672, "amqp"),
    (15672, "rabbitmq-mgmt"),
    (9092, "kafka"),
    (2181, "zookeeper"),
    (2379, "etcd"),
    (2380, "etcd-peer"),
    (6443, "kubernetes-api"),
    (10250, "kubelet"),
    (9090, "prometheus"),
    (9100, "node-exporter"),
    (9300, "elasticsearch-transport"),
    (5601, "kibana"),
    (8086, "influxdb"),
    (9000, "minio/php-fpm"),
    (9001, "minio-console"),
    (7000, "cassandra"),
    (9042, "cassandra-cql"),
    (1433, "ms-sql-s"),
    (1521, "oracle"),
    (5000, "docker-registry/dev-server"),
    (2375, "docker-api"),
    (2376, "docker-api-tls"),
    (8888, "jupyter"),
    (8081, "http-alt"),
    (4369, "epmd"),
    (6380, "redis-alt"),
    (26379, "redis-sentinel"),
    (5984, "couchdb"),
    (8500, "consul"),
    (8200, "vault"),
    (4222, "nats"),
    (1883, "mqtt"),
    (8883, "mqtt-tls"),
    (110, "pop3"),
    (143, "imap"),
    (993, "imaps"),
    (995, "pop3s"),
    (587, "submission"),
    (465, "smtps"),
    (389, "ldap"),
    (636, "ldaps"),
    (88, "kerberos"),
    (161, "snmp"),
    (179, "bgp"),
    (514, "shell/syslog"),
    (873, "rsync"),
    (1080, "socks"),
    (3128, "squid"),
    (1723, "pptp"),
    (5060, "sip"),
    (5353, "mdns"),
    (5044, "logstash-beats"),
    (9600, "logstash-api"),
    (8983, "solr"),
    (7474, "neo4j"),
    (7687, "neo4j-bolt"),
    (8529, "arangodb"),
    (28015, "rethinkdb"),
    (6000, "x11"),
    (631, "ipp"),
    (548, "afp"),
    (554, "rtsp"),
    (1194, "openvpn"),
    (51820, "wireguard"),
    (3001, "dev-server"),
    (4000, "dev-server"),
    (4200, "angular-dev"),
    (5173, "vite-dev"),
    (8001, "http-alt"),
    (8008, "http-alt"),
    (8880, "http-alt"),
    (9443, "https-alt"),
    (10000, "webmin"),
    (25565, "minecraft"),
    (50000, "jenkins-agent"),
];

/// The usual service on a TCP port, if it is a well-known one.
pub fn name(port: u16) -> Option<&'static str> {
    RANKED.iter().find(|(p, _)| *p == port).map(|(_, name)| *name)
}

/// The `n` highest-ranked ports: the ranked list first, then every other port in ascending
/// order, so any `n` up to 65535 is meaningful.
pub fn top(n: usize) -> Vec<u16> {
    let mut ports: Vec<u16> = RANKED.iter().map(|(port, _)| *port).take(n).collect();
    if n > ports.len() {
        let rest = (1..=u16::MAX).filter(|port| name(*port).is_none());
        ports.extend(rest.take(n - ports.len()));
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_an_audit_cares_about_are_named() {
        assert_eq!(name(5432), Some("postgresql"));
        assert_eq!(name(6379), Some("redis"));
        assert_eq!(name(27017), Some("mongodb"));
        assert_eq!(name(9200), Some("elasticsearch"));
        assert_eq!(name(5555), Some("flower"));
        assert!(name(3000).is_some_and(|n| n.contains("grafana")));
        assert_eq!(name(47_123), None);
    }

    #[test]
    fn top_ports_start_with_the_ranking_and_never_repeat() {
        assert_eq!(top(3), [22, 80, 443]);
        let all = top(65_535);
        assert_eq!(all.len(), 65_535);
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 65_535);
    }

    #[test]
    fn the_ranking_has_no_duplicate_ports() {
        let mut ports: Vec<u16> = RANKED.iter().map(|(p, _)| *p).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), RANKED.len());
    }
}
