//! A SOCKS5 client handshake (RFC 1928, with RFC 1929 user/password) on a connection reach
//! already opened to the proxy. Hand-written rather than hyper-util's `SocksV5` because that
//! one's error type is private and drops the reply code, and the code is what tells "the proxy
//! will not carry us" (proxy-refused) from "it tried and the target failed" (proxy-upstream).

use crate::spec::request::Credentials;
use std::io;
use std::net::IpAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const VERSION: u8 = 0x05;
const NO_AUTH: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE_METHOD: u8 = 0xff;
const CONNECT: u8 = 0x01;

/// Where the proxy is asked to connect.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// `socks5://`: reach resolved the name and sends the address.
    Ip(IpAddr),
    /// `socks5h://`: the proxy resolves the name.
    Name(&'a str),
}

/// How a SOCKS5 handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum SocksError {
    #[error("broke off the SOCKS5 handshake ({0})")]
    Io(#[from] io::Error),
    #[error("does not speak SOCKS5 (it answered with something else)")]
    NotSocks5,
    #[error("accepts none of the offered authentication methods ({0})")]
    NoAcceptableMethod(&'static str),
    #[error("rejected the user name and password")]
    AuthRejected,
    #[error("cannot take this target ({0})")]
    BadTarget(&'static str),
    #[error("answered CONNECT with reply {code:#04x}: {}", reply_text(*.code))]
    Reply { code: u8 },
}

impl SocksError {
    /// Whether the proxy tried and the target (or the way to it) failed, rather than the proxy
    /// refusing to carry the connection. 0x01 "general failure" counts as upstream: servers send
    /// it when their own connect fails with an error they do not map.
    pub fn is_upstream(&self) -> bool {
        matches!(
            self,
            SocksError::Reply {
                code: 0x01 | 0x03..=0x06
            }
        )
    }
}

/// RFC 1928 section 6.
fn reply_text(code: u8) -> &'static str {
    match code {
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused by the target",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unassigned reply code",
    }
}

/// Asks the proxy on `stream` to connect to `target:port`; on success the stream carries the
/// target's bytes from the next one on. The caller bounds it with its deadline.
pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    target: Target<'_>,
    port: u16,
    credentials: Option<&Credentials>,
) -> Result<(), SocksError> {
    let method = if credentials.is_some() {
        USER_PASSWORD
    } else {
        NO_AUTH
    };
    stream.write_all(&[VERSION, 1, method]).await?;
    let mut answer = [0u8; 2];
    stream.read_exact(&mut answer).await?;
    match answer {
        [VERSION, NO_ACCEPTABLE_METHOD] if credentials.is_some() => {
            return Err(SocksError::NoAcceptableMethod("offered user/password"))
        }
        [VERSION, NO_ACCEPTABLE_METHOD] => {
            return Err(SocksError::NoAcceptableMethod(
                "offered no authentication: it wants credentials in the proxy URL",
            ))
        }
        [VERSION, chosen] if chosen == method => {}
        _ => return Err(SocksError::NotSocks5),
    }
    if let Some(credentials) = credentials {
        // The spec keeps both under 256 bytes; checked again so no length byte can wrap.
        let (user, password) = (credentials.user.as_bytes(), credentials.password.as_bytes());
        let (Ok(user_len), Ok(password_len)) = (u8::try_from(user.len()), u8::try_from(password.len()))
        else {
            return Err(SocksError::AuthRejected);
        };
        let mut message = Vec::with_capacity(3 + user.len() + password.len());
        message.extend_from_slice(&[0x01, user_len]);
        message.extend_from_slice(user);
        message.push(password_len);
        message.extend_from_slice(password);
        stream.write_all(&message).await?;
        stream.read_exact(&mut answer).await?;
        if answer[1] != 0x00 {
            return Err(SocksError::AuthRejected);
        }
    }
    let mut request = vec![VERSION, CONNECT, 0x00];
    match target {
        Target::Ip(IpAddr::V4(ip)) => {
            request.push(0x01);
            request.extend_from_slice(&ip.octets());
        }
        Target::Ip(IpAddr::V6(ip)) => {
            request.push(0x04);
            request.extend_from_slice(&ip.octets());
        }
        Target::Name(name) => {
            let length = u8::try_from(name.len())
                .ok()
                .filter(|&n| n > 0)
                .ok_or(SocksError::BadTarget("a name of 1 to 255 bytes"))?;
            request.extend_from_slice(&[0x03, length]);
            request.extend_from_slice(name.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).await?;
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    if head[0] != VERSION {
        return Err(SocksError::NotSocks5);
    }
    if head[1] != 0x00 {
        return Err(SocksError::Reply { code: head[1] });
    }
    // The bound address and port follow; read them so the tunnel starts at the target's bytes.
    let rest = match head[3] {
        0x01 => 4 + 2,
        0x04 => 16 + 2,
        0x03 => usize::from(stream.read_u8().await?) + 2,
        _ => return Err(SocksError::NotSocks5),
    };
    let mut bound = vec![0u8; rest];
    stream.read_exact(&mut bound).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    /// Runs the client against a scripted proxy that answers `replies` in turn and returns what
    /// the client sent.
    async fn exchange(
        target: Target<'_>,
        credentials: Option<&Credentials>,
        replies: &'static [&'static [u8]],
    ) -> (Result<(), SocksError>, Vec<u8>) {
        let (mut client, mut server) = duplex(1024);
        let proxy = tokio::spawn(async move {
            let mut seen = Vec::new();
            for reply in replies {
                let mut buf = [0u8; 512];
                let n = server.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
                server.write_all(reply).await.unwrap();
            }
            seen
        });
        let result = connect(&mut client, target, 443, credentials).await;
        drop(client);
        (result, proxy.await.unwrap())
    }

    #[tokio::test]
    async fn a_name_goes_to_the_proxy_and_the_bound_address_is_consumed() {
        let (result, sent) = exchange(
            Target::Name("api.test"),
            None,
            &[&[5, 0], &[5, 0, 0, 3, 4, b'h', b'o', b's', b't', 1, 187]],
        )
        .await;
        result.unwrap();
        assert_eq!(&sent[..3], &[5, 1, 0]);
        assert_eq!(&sent[3..8], &[5, 1, 0, 3, 8]);
        assert_eq!(&sent[8..16], b"api.test");
        assert_eq!(&sent[16..], &443u16.to_be_bytes());
    }

    #[tokio::test]
    async fn reply_codes_are_kept_and_sorted_into_refused_and_upstream() {
        let (result, _) = exchange(
            Target::Ip("10.0.0.1".parse().unwrap()),
            None,
            &[&[5, 0], &[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]],
        )
        .await;
        let error = result.unwrap_err();
        assert!(matches!(error, SocksError::Reply { code: 2 }));
        assert!(!error.is_upstream());
        assert!(error.to_string().contains("not allowed by ruleset"), "{error}");
        for code in [1u8, 3, 4, 5, 6] {
            assert!(SocksError::Reply { code }.is_upstream(), "{code}");
        }
        for code in [2u8, 7, 8] {
            assert!(!SocksError::Reply { code }.is_upstream(), "{code}");
        }
    }

    #[tokio::test]
    async fn credentials_are_offered_and_a_rejection_is_named() {
        let credentials = Credentials {
            user: "me".into(),
            password: "pw".into(),
        };
        let (result, sent) = exchange(Target::Name("a.test"), Some(&credentials), &[&[5, 2], &[1, 1]]).await;
        assert!(matches!(result, Err(SocksError::AuthRejected)), "{result:?}");
        assert_eq!(&sent, &[5, 1, 2, 1, 2, b'm', b'e', 2, b'p', b'w']);
        let (result, _) = exchange(Target::Name("a.test"), None, &[&[5, 0xff]]).await;
        assert!(
            result.unwrap_err().to_string().contains("wants credentials"),
            "no auth offered"
        );
        let (result, _) = exchange(Target::Name("a.test"), None, &[b"HTTP/1.1 400 Bad\r\n\r\n"]).await;
        assert!(matches!(result, Err(SocksError::NotSocks5)));
    }
}
