//! A small authoritative DNS responder for tests and the benchmark, built on hickory-proto:
//! an in-memory zone over UDP and TCP on the same loopback port, plus names that misbehave on
//! purpose (SERVFAIL, REFUSED, silence, an answer that only fits over TCP) and hostile ones
//! (wrong ids, QR=0, another question, compression-pointer loops, bad rdata, lost queries).
//!
//! Like a real server it honours EDNS0: over UDP an answer larger than the client's payload
//! (512 bytes without EDNS0) comes back empty with TC set.
//!
//! It binds `127.0.0.1:0` and reads the port back, so it is ready before `start` returns. Names
//! under a synthetic suffix answer an A record computed from their first label (`n1234.bench.test`
//! -> `10.0.4.210`), so a benchmark can ask for thousands of distinct names.

use hickory_proto::op::{Edns, Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{CAA, CNAME, MX, NS, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

/// TTL of every record the helpers add.
pub const TTL: u32 = 300;
/// TTL and minimum of the SOA sent with negative answers, so the negative TTL is this.
pub const NEGATIVE_TTL: u32 = 60;

/// How a name misbehaves, whatever the type asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // each test binary or example uses the behaviours it needs
pub enum Behaviour {
    ServFail,
    Refused,
    /// Never answers (the query times out).
    Silent,
    /// Over UDP, an empty answer with the TC bit set; over TCP, the real answer.
    TruncatedOverUdp,
    /// Over UDP, silence; over TCP, the real answer.
    TcpOnly,
    /// The real answer, under another id.
    WrongId,
    /// The query sent back as it came (QR=0).
    NotAResponse,
    /// The query's id, and an answer to another question.
    OtherQuestion,
    /// An answer whose record's owner name is a compression pointer to itself.
    CompressionLoop,
    /// An answer whose A record says RDLENGTH 3.
    BadRdata,
    /// The first UDP query for the name is lost; later ones are answered.
    DropFirst,
    /// Over UDP, a datagram with a wrong id first, then the real answer.
    StrayThenAnswer,
    /// The real answer, this long after the query (the server answers nothing else meanwhile).
    Slow(std::time::Duration),
}

/// The records and behaviours a server answers with.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    records: Vec<Record>,
    behaviours: Vec<(String, Behaviour)>,
    synthetic: Option<String>,
    /// Every AAAA query over UDP goes unanswered (as behind a middlebox that drops them).
    drop_aaaa: bool,
}

fn name(text: &str) -> Name {
    let mut name = Name::from_str(text).expect("a valid test name");
    name.set_fqdn(true);
    name
}

fn key(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

#[allow(dead_code)] // each test binary or example uses the helpers it needs
impl Zone {
    pub fn new() -> Zone {
        Zone::default()
    }

    pub fn record(mut self, owner: &str, ttl: u32, data: RData) -> Zone {
        self.records.push(Record::from_rdata(name(owner), ttl, data));
        self
    }

    pub fn a(self, owner: &str, address: &str) -> Zone {
        let ip: Ipv4Addr = address.parse().expect("an IPv4 address");
        self.record(owner, TTL, RData::A(ip.into()))
    }

    pub fn aaaa(self, owner: &str, address: &str) -> Zone {
        let ip: std::net::Ipv6Addr = address.parse().expect("an IPv6 address");
        self.record(owner, TTL, RData::AAAA(ip.into()))
    }

    pub fn cname(self, owner: &str, target: &str) -> Zone {
        self.record(owner, TTL, RData::CNAME(CNAME(name(target))))
    }

    pub fn mx(self, owner: &str, preference: u16, exchange: &str) -> Zone {
        self.record(owner, TTL, RData::MX(MX::new(preference, name(exchange))))
    }

    pub fn txt(self, owner: &str, strings: &[&str]) -> Zone {
        let strings = strings.iter().map(|s| (*s).to_owned()).collect();
        self.record(owner, TTL, RData::TXT(TXT::new(strings)))
    }

    pub fn ns(self, owner: &str, server: &str) -> Zone {
        self.record(owner, TTL, RData::NS(NS(name(server))))
    }

    pub fn caa_issue(self, owner: &str, issuer: &str) -> Zone {
        self.record(
            owner,
            TTL,
            // Issuer names are written without the final dot (RFC 8659).
            RData::CAA(CAA::new_issue(
                false,
                Some(Name::from_str(issuer).expect("a valid issuer")),
                Vec::new(),
            )),
        )
    }

    pub fn srv(self, owner: &str, priority: u16, weight: u16, port: u16, target: &str) -> Zone {
        self.record(
            owner,
            TTL,
            RData::SRV(SRV::new(priority, weight, port, name(target))),
        )
    }

    pub fn ptr(self, owner: &str, target: &str) -> Zone {
        self.record(owner, TTL, RData::PTR(PTR(name(target))))
    }

    pub fn behave(mut self, owner: &str, behaviour: Behaviour) -> Zone {
        self.behaviours.push((key(&name(owner)), behaviour));
        self
    }

    /// Every name under `suffix` has one A record derived from the digits of its first label.
    pub fn synthetic(mut self, suffix: &str) -> Zone {
        self.synthetic = Some(key(&name(suffix)));
        self
    }

    /// Never answers an AAAA query over UDP.
    pub fn drop_aaaa(mut self) -> Zone {
        self.drop_aaaa = true;
        self
    }

    fn behaviour(&self, owner: &str) -> Option<Behaviour> {
        self.behaviours.iter().find(|(n, _)| n == owner).map(|(_, b)| *b)
    }

    fn at(&self, owner: &str) -> Vec<&Record> {
        self.records.iter().filter(|r| key(r.name()) == owner).collect()
    }

    fn synthetic_answer(&self, qname: &Name, owner: &str, qtype: RecordType) -> Option<Vec<Record>> {
        let suffix = self.synthetic.as_ref()?;
        let label = owner.strip_suffix(suffix.as_str())?.strip_suffix('.')?;
        if qtype != RecordType::A {
            return Some(Vec::new());
        }
        let number: u32 = label
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0);
        let [_, b, c, d] = number.to_be_bytes();
        let ip = Ipv4Addr::new(10, b, c, d);
        Some(vec![Record::from_rdata(qname.clone(), TTL, RData::A(ip.into()))])
    }

    /// The answer section and response code for one question (CNAMEs followed in the zone).
    fn answer(&self, qname: &Name, qtype: RecordType) -> (ResponseCode, Vec<Record>) {
        let mut owner = key(qname);
        if let Some(records) = self.synthetic_answer(qname, &owner, qtype) {
            return (ResponseCode::NoError, records);
        }
        let mut answers = Vec::new();
        let mut visited = HashSet::new();
        // Each alias once, as authoritative servers answer a CNAME loop.
        while visited.insert(owner.clone()) {
            let here = self.at(&owner);
            let matching: Vec<Record> = here
                .iter()
                .filter(|r| r.record_type() == qtype)
                .map(|r| (*r).clone())
                .collect();
            if !matching.is_empty() {
                answers.extend(matching);
                break;
            }
            let alias = here.iter().find(|r| r.record_type() == RecordType::CNAME);
            match alias.and_then(|r| r.data().as_cname()) {
                Some(target) if qtype != RecordType::CNAME => {
                    answers.push((*alias.expect("found above")).clone());
                    owner = key(&target.0);
                }
                _ => {
                    // RFC 6604: the response code speaks of the last name of the chain.
                    if here.is_empty() {
                        return (ResponseCode::NXDomain, answers);
                    }
                    break;
                }
            }
        }
        (ResponseCode::NoError, answers)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// What the server has seen, shared with its threads.
#[derive(Default)]
struct Seen {
    /// The source addresses of UDP queries.
    udp_peers: Mutex<HashSet<SocketAddr>>,
    /// UDP queries per name, for [`Behaviour::DropFirst`].
    udp_per_name: Mutex<HashMap<String, usize>>,
}

/// A running responder; it stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    pub udp_queries: Arc<AtomicUsize>,
    pub tcp_queries: Arc<AtomicUsize>,
    seen: Arc<Seen>,
    zone: Arc<RwLock<Zone>>,
    stop: Arc<AtomicBool>,
    udp_thread: Option<JoinHandle<()>>,
    tcp_thread: Option<JoinHandle<()>>,
}

#[allow(dead_code)] // each test binary or example uses the parts it needs
impl DnsServer {
    /// Serves `zone` on a free loopback port, over UDP and TCP.
    pub fn start(zone: Zone) -> DnsServer {
        let (udp, tcp) = bind_pair();
        DnsServer::serve(zone, udp, tcp)
    }

    /// Serves `zone` on `addr` (e.g. port 53 inside a test's network namespace: call it from
    /// a thread that entered the namespace).
    pub fn start_at(zone: Zone, addr: SocketAddr) -> DnsServer {
        let udp = UdpSocket::bind(addr).expect("bind udp");
        let tcp = TcpListener::bind(addr).expect("bind tcp");
        DnsServer::serve(zone, udp, tcp)
    }

    fn serve(zone: Zone, udp: UdpSocket, tcp: TcpListener) -> DnsServer {
        let addr = udp.local_addr().expect("local addr");
        // The loops wake up now and then to see whether they should stop: a wake-up datagram
        // or connection cannot reach a server inside another network namespace.
        udp.set_read_timeout(Some(std::time::Duration::from_millis(100)))
            .expect("read timeout");
        tcp.set_nonblocking(true).expect("non-blocking listener");
        let zone = Arc::new(RwLock::new(zone));
        let stop = Arc::new(AtomicBool::new(false));
        let udp_queries = Arc::new(AtomicUsize::new(0));
        let tcp_queries = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Seen::default());
        let udp_thread = {
            let (zone, stop, count, seen) = (
                Arc::clone(&zone),
                Arc::clone(&stop),
                Arc::clone(&udp_queries),
                Arc::clone(&seen),
            );
            std::thread::spawn(move || serve_udp(&udp, &zone, &stop, &count, &seen))
        };
        let tcp_thread = {
            let (zone, stop, count) = (Arc::clone(&zone), Arc::clone(&stop), Arc::clone(&tcp_queries));
            std::thread::spawn(move || serve_tcp(&tcp, &zone, &stop, &count))
        };
        DnsServer {
            addr,
            udp_queries,
            tcp_queries,
            seen,
            zone,
            stop,
            udp_thread: Some(udp_thread),
            tcp_thread: Some(tcp_thread),
        }
    }

    /// Answers from `zone` from now on (a deployment whose records were changed).
    pub fn set_zone(&self, zone: Zone) {
        *self.zone.write().expect("zone lock") = zone;
    }

    /// `127.0.0.1:PORT`, as `server =` and `--dns-server` take it.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// How many distinct source addresses (ports) UDP queries came from.
    pub fn udp_sources(&self) -> usize {
        self.seen.udp_peers.lock().expect("lock").len()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Both loops see the flag within their polling interval and close their sockets, so a
        // server inside a test's namespace does not keep that namespace alive.
        for thread in [self.udp_thread.take(), self.tcp_thread.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
    }
}

/// A UDP socket and a TCP listener on the same free loopback port.
fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("local addr").port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
            return (udp, tcp);
        }
    }
    panic!("no loopback port was free for both UDP and TCP");
}

fn serve_udp(socket: &UdpSocket, zone: &RwLock<Zone>, stop: &AtomicBool, count: &AtomicUsize, seen: &Seen) {
    let mut buf = vec![0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        let Ok((len, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        if stop.load(Ordering::SeqCst) {
            break;
        }
        count.fetch_add(1, Ordering::SeqCst);
        seen.udp_peers.lock().expect("lock").insert(peer);
        let zone = zone.read().expect("zone lock");
        let query = &buf[..len];
        let owner = Message::from_vec(query)
            .ok()
            .and_then(|m| m.queries().first().map(|q| key(q.name())));
        let behaviour = owner.as_deref().and_then(|o| zone.behaviour(o));
        if behaviour == Some(Behaviour::DropFirst) {
            let mut per_name = seen.udp_per_name.lock().expect("lock");
            let asked = per_name.entry(owner.clone().unwrap_or_default()).or_default();
            *asked += 1;
            if *asked == 1 {
                continue;
            }
        }
        let Some(reply) = respond(&zone, query, Transport::Udp) else {
            continue;
        };
        if behaviour == Some(Behaviour::StrayThenAnswer) {
            let mut stray = reply.clone();
            stray[0] ^= 0x5a;
            let _ = socket.send_to(&stray, peer);
        }
        let _ = socket.send_to(&reply, peer);
    }
}

fn serve_tcp(
    listener: &TcpListener,
    zone: &Arc<RwLock<Zone>>,
    stop: &Arc<AtomicBool>,
    count: &Arc<AtomicUsize>,
) {
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            Err(_) => continue,
        };
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        let (zone, count) = (Arc::clone(zone), Arc::clone(count));
        std::thread::spawn(move || serve_connection(stream, &zone, &count));
    }
}

fn serve_connection(mut stream: TcpStream, zone: &RwLock<Zone>, count: &AtomicUsize) {
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut message).is_err() {
            return;
        }
        count.fetch_add(1, Ordering::SeqCst);
        let reply = respond(&zone.read().expect("zone lock"), &message, Transport::Tcp);
        let Some(reply) = reply else {
            continue;
        };
        let Ok(reply_len) = u16::try_from(reply.len()) else {
            return;
        };
        let mut framed = reply_len.to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).is_err() {
            return;
        }
    }
}

/// The wire reply to one wire query, or `None` to stay silent.
fn respond(zone: &Zone, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let request = Message::from_vec(query).ok()?;
    let question = request.queries().first()?.clone();
    let mut response = Message::new();
    response
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired())
        .set_recursion_available(true)
        .set_authoritative(true);
    response.add_query(question.clone());
    if let Some(edns) = request.extensions() {
        let mut reply_edns = Edns::new();
        reply_edns.set_max_payload(edns.max_payload().max(512));
        response.set_edns(reply_edns);
    }
    if zone.drop_aaaa && transport == Transport::Udp && question.query_type() == RecordType::AAAA {
        return None;
    }
    let owner = key(question.name());
    match zone.behaviour(&owner) {
        Some(Behaviour::Silent) => return None,
        Some(Behaviour::NotAResponse) => return Some(query.to_vec()),
        Some(Behaviour::WrongId) => {
            response.set_id(request.id().wrapping_add(1));
        }
        Some(Behaviour::OtherQuestion) => {
            response.queries_mut().clear();
            response.add_query(hickory_proto::op::Query::query(
                name("elsewhere.test"),
                question.query_type(),
            ));
        }
        Some(Behaviour::CompressionLoop) => return Some(hostile_answer(&request, Hostile::PointerLoop)),
        Some(Behaviour::BadRdata) => return Some(hostile_answer(&request, Hostile::ShortRdata)),
        Some(Behaviour::Slow(delay)) => std::thread::sleep(delay),
        Some(Behaviour::TcpOnly) if transport == Transport::Udp => return None,
        Some(Behaviour::ServFail) => {
            response.set_response_code(ResponseCode::ServFail);
            return response.to_vec().ok();
        }
        Some(Behaviour::Refused) => {
            response.set_response_code(ResponseCode::Refused);
            return response.to_vec().ok();
        }
        Some(Behaviour::TruncatedOverUdp) if transport == Transport::Udp => {
            response.set_truncated(true);
            return response.to_vec().ok();
        }
        _ => {}
    }
    let (code, answers) = zone.answer(question.name(), question.query_type());
    response.set_response_code(code);
    let complete = answers.iter().any(|r| r.record_type() == question.query_type());
    if !complete {
        // A negative answer (NXDOMAIN or NODATA, also at the end of an alias chain) carries
        // the zone's SOA, whose minimum is the negative TTL (RFC 2308).
        let soa = SOA::new(
            name("ns.test"),
            name("hostmaster.test"),
            1,
            3600,
            600,
            86400,
            NEGATIVE_TTL,
        );
        response.add_name_server(Record::from_rdata(name("test"), NEGATIVE_TTL, RData::SOA(soa)));
    }
    response.add_answers(answers);
    let bytes = response.to_vec().ok()?;
    let room = request
        .extensions()
        .as_ref()
        .map_or(512, |e| usize::from(e.max_payload().max(512)));
    if transport == Transport::Udp && bytes.len() > room {
        // What a server does with an answer that does not fit: nothing but the header and
        // the question, with TC set.
        response.answers_mut().clear();
        response.name_servers_mut().clear();
        response.set_truncated(true);
        return response.to_vec().ok();
    }
    Some(bytes)
}

/// Answers that no encoder would write.
#[derive(Clone, Copy)]
enum Hostile {
    /// One A record whose owner name is a compression pointer to its own offset.
    PointerLoop,
    /// One A record with RDLENGTH 3 and three bytes of address.
    ShortRdata,
}

fn hostile_answer(request: &Message, hostile: Hostile) -> Vec<u8> {
    let mut response = Message::new();
    response
        .set_id(request.id())
        .set_message_type(MessageType::Response)
        .set_op_code(request.op_code())
        .set_recursion_desired(request.recursion_desired())
        .set_recursion_available(true);
    response.add_queries(request.queries().to_vec());
    let mut bytes = response.to_vec().expect("encode");
    // ANCOUNT = 1, then the record by hand.
    bytes[6..8].copy_from_slice(&1u16.to_be_bytes());
    match hostile {
        Hostile::PointerLoop => {
            let here = u16::try_from(bytes.len()).expect("small message") | 0xC000;
            bytes.extend_from_slice(&here.to_be_bytes());
            bytes.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]);
        }
        Hostile::ShortRdata => {
            // The owner is the question's name (a pointer to byte 12).
            bytes.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 3, 192, 0, 2]);
        }
    }
    bytes
}

/// The address the synthetic zone gives `n{number}.SUFFIX`.
#[allow(dead_code)] // used by the benchmark's self-check
pub fn synthetic_address(number: u32) -> IpAddr {
    let [_, b, c, d] = number.to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(10, b, c, d))
}
