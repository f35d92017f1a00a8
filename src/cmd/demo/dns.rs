//! The demo's DNS server: A records and CNAMEs for the demo's names, NXDOMAIN for any other,
//! over UDP on loopback. Everything the demo resolves is asked here, never the system resolver.

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, CNAME};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::str::FromStr;
use tokio::net::UdpSocket;

const TTL: u32 = 300;

/// What the zone holds for one name.
#[derive(Debug, Clone)]
pub enum Entry {
    A(Ipv4Addr),
    Cname(String),
}

/// Answers queries on `socket` until the task is dropped.
pub async fn serve(socket: UdpSocket, zone: HashMap<String, Entry>) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((length, peer)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        let Some(reply) = answer(&buffer[..length], &zone) else {
            continue;
        };
        let _ = socket.send_to(&reply, peer).await;
    }
}

/// The reply to one query, or nothing for a datagram that is not one.
fn answer(query: &[u8], zone: &HashMap<String, Entry>) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    let question = query.queries().first()?.clone();
    let mut reply = Message::new();
    reply
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(true)
        .set_authoritative(true)
        .add_query(question.clone());
    let mut name = key(question.name());
    let mut found = false;
    // Follow CNAMEs inside the zone, as a resolver's answer would hold the whole chain.
    for _ in 0..8 {
        match zone.get(&name) {
            Some(Entry::Cname(target)) => {
                let target_name = Name::from_str(&format!("{target}.")).ok()?;
                reply.add_answer(Record::from_rdata(
                    Name::from_str(&format!("{name}.")).ok()?,
                    TTL,
                    RData::CNAME(CNAME(target_name)),
                ));
                found = true;
                if question.query_type() == RecordType::CNAME {
                    break;
                }
                name = target.clone();
            }
            Some(Entry::A(address)) => {
                found = true;
                if question.query_type() == RecordType::A {
                    reply.add_answer(Record::from_rdata(
                        Name::from_str(&format!("{name}.")).ok()?,
                        TTL,
                        RData::A(A(*address)),
                    ));
                }
                break;
            }
            None => break,
        }
    }
    if !found {
        reply.set_response_code(ResponseCode::NXDomain);
    }
    reply.to_vec().ok()
}

fn key(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}
