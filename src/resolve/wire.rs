//! DNS messages on the wire, through hickory-proto's codec: the query reach sends, and the
//! reading of what comes back in stages (header, question, records), so that a datagram that is
//! not the answer says why: too short, not a response, another question, or malformed.

use hickory_proto::op::{Edns, Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use hickory_proto::ProtoError;

/// The UDP payload reach offers in its EDNS0 record, so that answers up to this size come back
/// over UDP instead of truncated at 512 bytes.
pub const EDNS_PAYLOAD: u16 = 4096;

/// The length of a DNS header: a shorter datagram carries no id to match.
const HEADER_LEN: usize = 12;

/// One question: a fully qualified name and a record type, class IN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub record_type: RecordType,
}

impl Question {
    /// `name` as written (with or without the final dot), asked as an absolute name.
    pub fn new(name: &str, record_type: RecordType) -> Result<Question, ProtoError> {
        let mut name = Name::from_ascii(name)?;
        name.set_fqdn(true);
        Ok(Question { name, record_type })
    }

    /// `NAME TYPE`, as messages show a question.
    pub fn describe(&self) -> String {
        format!("{} {}", shown(&self.name), self.record_type)
    }
}

impl std::fmt::Display for Question {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A name as reports write it: lowercase is not forced, the final dot is dropped.
fn shown(name: &Name) -> String {
    let text = name.to_ascii();
    match text.strip_suffix('.') {
        Some(bare) if !bare.is_empty() => bare.to_owned(),
        _ => text,
    }
}

/// The bytes of a recursive query for `question` with `id`, with an EDNS0 record offering
/// [`EDNS_PAYLOAD`] bytes when `edns` is set.
pub fn encode_query(id: u16, question: &Question, edns: bool) -> Result<Vec<u8>, ProtoError> {
    let mut message = Message::new();
    message
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(question.name.clone(), question.record_type));
    if edns {
        let mut record = Edns::new();
        record.set_max_payload(EDNS_PAYLOAD).set_version(0);
        message.set_edns(record);
    }
    message.to_vec()
}

/// A response that answers the question it was matched to.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: ResponseCode,
    /// TC: the answer did not fit; ask again over TCP.
    pub truncated: bool,
    pub answers: Vec<Record>,
    /// The authority section (the SOA of a negative answer).
    pub authority: Vec<Record>,
    /// Whether the server sent an EDNS0 record back (it understood ours).
    pub edns: bool,
}

/// Which part of a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Question,
    Answer,
    Authority,
    Additional,
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Section::Question => "question section",
            Section::Answer => "answer section",
            Section::Authority => "authority section",
            Section::Additional => "additional section",
        })
    }
}

/// Why a message from the server is not the answer to a query. Never accepted; kept as
/// evidence, so that a query that ends without an answer says what the server sent instead.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unusable {
    #[error("a {len}-byte datagram, too short to be a DNS message")]
    TooShort { len: usize },
    #[error("a message with QR=0 (a query, not a response)")]
    NotAResponse,
    #[error("a response with opcode {got}, not QUERY")]
    OtherOpcode { got: String },
    #[error("a response with id {got:#06x}, not the query's {want:#06x}")]
    WrongId { got: u16, want: u16 },
    #[error("a response to another question ({got}) with this query's id")]
    OtherQuestion { got: String },
    #[error("a NOERROR response without the question")]
    NoQuestion,
    #[error("a response whose {section} is malformed: {}", crate::classify::dns_decode_reason(.source))]
    Malformed {
        section: Section,
        #[source]
        source: ProtoError,
    },
    #[error("a response with bad rdata: the {record_type} record {number} of its {section} {problem}")]
    BadRdata {
        section: Section,
        /// 1 for the first record of the section.
        number: usize,
        record_type: RecordType,
        #[source]
        problem: RdataProblem,
    },
}

/// What is wrong with the data of one record.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RdataProblem {
    #[error("has {len} bytes of data where {want} are due")]
    WrongLength { len: u16, want: u16 },
    #[error("says RDLENGTH {len} but only {left} bytes are left in the message")]
    PastEnd { len: u16, left: usize },
    #[error("has no data")]
    Empty,
    #[error("has data that cannot be read: {}", crate::classify::dns_decode_reason(.source))]
    Undecodable {
        #[source]
        source: ProtoError,
    },
}

/// Reads `count` records of `section`; a record that cannot be read is diagnosed: a name that
/// cannot be read (a compression-pointer loop), or bad rdata and how.
fn read_section(
    bytes: &[u8],
    decoder: &mut BinDecoder<'_>,
    count: u16,
    section: Section,
) -> Result<Vec<Record>, Unusable> {
    let mut records = Vec::with_capacity(usize::from(count));
    for number in 1..=usize::from(count) {
        let start = decoder.index();
        match Record::read(decoder) {
            // hickory reads a zero-length rdata as an update placeholder; in a response it is a
            // record without data.
            Ok(record)
                if matches!(record.data(), RData::Update0(_)) && !may_be_empty(record.record_type()) =>
            {
                return Err(Unusable::BadRdata {
                    section,
                    number,
                    record_type: record.record_type(),
                    problem: RdataProblem::Empty,
                })
            }
            Ok(record) => records.push(record),
            Err(source) => return Err(diagnose(bytes, start, section, number, source)),
        }
    }
    Ok(records)
}

/// Types whose data may be empty (an OPT record without options, NULL).
fn may_be_empty(record_type: RecordType) -> bool {
    matches!(
        record_type,
        RecordType::OPT | RecordType::NULL | RecordType::Unknown(_)
    )
}

/// Why the record at `start` could not be read.
fn diagnose(bytes: &[u8], start: usize, section: Section, number: usize, source: ProtoError) -> Unusable {
    let mut decoder = BinDecoder::new(bytes);
    let fixed = decoder.read_slice(start).ok().and_then(|_| {
        Name::read(&mut decoder).ok()?;
        let record_type = RecordType::read(&mut decoder).ok()?;
        let _class = decoder.read_u16().ok()?;
        let _ttl = decoder.read_u32().ok()?;
        let len = decoder.read_u16().ok()?.unverified(/* checked below */);
        Some((record_type, len, decoder.len()))
    });
    let Some((record_type, len, left)) = fixed else {
        // The owner name or the fixed fields: not the rdata.
        return Unusable::Malformed { section, source };
    };
    let want = match record_type {
        RecordType::A => Some(4),
        RecordType::AAAA => Some(16),
        _ => None,
    };
    let problem = if usize::from(len) > left {
        RdataProblem::PastEnd { len, left }
    } else if let Some(want) = want.filter(|&want| want != len) {
        RdataProblem::WrongLength { len, want }
    } else {
        RdataProblem::Undecodable { source }
    };
    Unusable::BadRdata {
        section,
        number,
        record_type,
        problem,
    }
}

/// The header of a datagram, or why it has none.
pub fn read_header(bytes: &[u8]) -> Result<Header, Unusable> {
    if bytes.len() < HEADER_LEN {
        return Err(Unusable::TooShort { len: bytes.len() });
    }
    Header::read(&mut BinDecoder::new(bytes)).map_err(|_| Unusable::TooShort { len: bytes.len() })
}

/// The question of a message whose header was read, if it has exactly one that can be read.
pub fn read_question(bytes: &[u8], header: &Header) -> Result<Option<Query>, Unusable> {
    let mut decoder = BinDecoder::new(&bytes[HEADER_LEN.min(bytes.len())..]);
    match header.query_count() {
        0 => Ok(None),
        _ => Query::read(&mut decoder)
            .map(Some)
            .map_err(|source| Unusable::Malformed {
                section: Section::Question,
                source,
            }),
    }
}

/// Reads a response to `question` whose header matched the query's id: it must be a response
/// to a QUERY, about `question`, and every section must decode.
pub fn read_reply(bytes: &[u8], header: &Header, question: &Question) -> Result<Reply, Unusable> {
    if header.message_type() != MessageType::Response {
        return Err(Unusable::NotAResponse);
    }
    if header.op_code() != OpCode::Query {
        return Err(Unusable::OtherOpcode {
            got: header.op_code().to_string(),
        });
    }
    let mut decoder = BinDecoder::new(bytes);
    let malformed = |section| move |source| Unusable::Malformed { section, source };
    // The header decoded once already; decoding again just moves past it.
    Header::read(&mut decoder).map_err(malformed(Section::Question))?;
    let queries = Message::read_queries(&mut decoder, usize::from(header.query_count()))
        .map_err(malformed(Section::Question))?;
    match queries.as_slice() {
        [] if header.response_code() == ResponseCode::NoError => return Err(Unusable::NoQuestion),
        // Servers that reject a query outright (FORMERR, NOTIMP, REFUSED) may leave the question
        // out; the id is all that ties it to the query.
        [] => {}
        [only]
            if only.name() == &question.name
                && only.query_type() == question.record_type
                && only.query_class() == hickory_proto::rr::DNSClass::IN => {}
        [other, ..] => {
            return Err(Unusable::OtherQuestion {
                got: format!("{} {}", shown(other.name()), other.query_type()),
            })
        }
    }
    let answers = read_section(bytes, &mut decoder, header.answer_count(), Section::Answer)?;
    let authority = read_section(
        bytes,
        &mut decoder,
        header.name_server_count(),
        Section::Authority,
    )?;
    let (_, edns, _) = Message::read_records(&mut decoder, usize::from(header.additional_count()), true)
        .map_err(malformed(Section::Additional))?;
    let mut code = header.response_code();
    if let Some(edns) = &edns {
        code = ResponseCode::from(edns.rcode_high(), code.low());
    }
    Ok(Reply {
        code,
        truncated: header.truncated(),
        answers,
        authority,
        edns: edns.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, CNAME};

    fn question() -> Question {
        Question::new("www.Shop.test", RecordType::A).unwrap()
    }

    fn response(id: u16, question: &Question, answers: Vec<Record>) -> Vec<u8> {
        let mut message = Message::new();
        message
            .set_id(id)
            .set_message_type(MessageType::Response)
            .add_query(Query::query(question.name.clone(), question.record_type))
            .add_answers(answers);
        message.to_vec().unwrap()
    }

    fn a(owner: &str, ip: [u8; 4]) -> Record {
        Record::from_rdata(
            Name::from_ascii(owner).unwrap(),
            300,
            RData::A(A::from(std::net::Ipv4Addr::from(ip))),
        )
    }

    #[test]
    fn a_query_offers_edns_and_asks_for_recursion() {
        let bytes = encode_query(0x1234, &question(), true).unwrap();
        let message = Message::from_vec(&bytes).unwrap();
        assert_eq!(message.id(), 0x1234);
        assert!(message.recursion_desired());
        assert_eq!(message.max_payload(), EDNS_PAYLOAD);
        let plain = Message::from_vec(&encode_query(1, &question(), false).unwrap()).unwrap();
        assert!(plain.extensions().is_none());
    }

    #[test]
    fn an_answer_to_the_question_is_read_whatever_the_case_of_the_name() {
        let q = question();
        let other_case = Question::new("WWW.shop.TEST.", RecordType::A).unwrap();
        let bytes = response(7, &other_case, vec![a("www.shop.test.", [192, 0, 2, 1])]);
        let header = read_header(&bytes).unwrap();
        let reply = read_reply(&bytes, &header, &q).unwrap();
        assert_eq!(reply.answers.len(), 1);
        assert_eq!(reply.code, ResponseCode::NoError);
    }

    #[test]
    fn messages_that_are_not_the_answer_say_why() {
        let q = question();
        assert!(matches!(read_header(&[0; 5]), Err(Unusable::TooShort { len: 5 })));
        let query = encode_query(7, &q, true).unwrap();
        let header = read_header(&query).unwrap();
        assert!(matches!(
            read_reply(&query, &header, &q),
            Err(Unusable::NotAResponse)
        ));
        let other = Question::new("api.shop.test", RecordType::A).unwrap();
        let bytes = response(7, &other, Vec::new());
        let header = read_header(&bytes).unwrap();
        let err = read_reply(&bytes, &header, &q).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a response to another question (api.shop.test A) with this query's id"
        );
    }

    #[test]
    fn a_compression_pointer_loop_is_malformed_and_named() {
        let q = question();
        let mut bytes = response(7, &q, Vec::new());
        // One answer whose owner name is a pointer to itself.
        bytes[7] = 1;
        let at = bytes.len();
        let pointer = u16::try_from(at).unwrap() | 0xC000;
        bytes.extend_from_slice(&pointer.to_be_bytes());
        bytes.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]);
        let header = read_header(&bytes).unwrap();
        let err = read_reply(&bytes, &header, &q).unwrap_err();
        assert!(
            matches!(
                err,
                Unusable::Malformed {
                    section: Section::Answer,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("compression pointer"), "{err}");
    }

    #[test]
    fn bad_rdata_is_malformed_and_empty_rdata_too() {
        let q = question();
        let good = response(7, &q, vec![a("www.shop.test.", [192, 0, 2, 1])]);
        // The A record's RDLENGTH (the 2 bytes before its 4 address bytes) says 3.
        let mut short = good.clone();
        let at = short.len() - 6;
        short[at..at + 2].copy_from_slice(&3u16.to_be_bytes());
        short.pop();
        let header = read_header(&short).unwrap();
        let err = read_reply(&short, &header, &q).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a response with bad rdata: the A record 1 of its answer section has 3 bytes of data \
             where 4 are due"
        );
        let mut empty = good;
        let at = empty.len() - 6;
        empty[at..at + 2].copy_from_slice(&0u16.to_be_bytes());
        empty.truncate(empty.len() - 4);
        let header = read_header(&empty).unwrap();
        let err = read_reply(&empty, &header, &q).unwrap_err();
        assert!(
            matches!(
                err,
                Unusable::BadRdata {
                    problem: RdataProblem::Empty,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_cname_answer_keeps_every_record() {
        let q = question();
        let cname = Record::from_rdata(
            Name::from_ascii("www.shop.test.").unwrap(),
            300,
            RData::CNAME(CNAME(Name::from_ascii("shop.test.").unwrap())),
        );
        let bytes = response(9, &q, vec![cname, a("shop.test.", [192, 0, 2, 1])]);
        let header = read_header(&bytes).unwrap();
        assert_eq!(read_reply(&bytes, &header, &q).unwrap().answers.len(), 2);
    }
}
