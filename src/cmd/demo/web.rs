//! The demo's web servers, small on purpose: one HTTP/1.1 request per connection, answered by
//! the server's role. The application answers `/health` and echoes WebSocket messages on `/ws`;
//! the plain-HTTP port redirects to HTTPS (or, in the broken deployment, forgets to); the API
//! stand-ins answer 401, as a provider does to a request without a key.

use base64::Engine as _;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest request head read.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request or a frame.
const IDLE: Duration = Duration::from_secs(5);
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// What a server answers.
#[derive(Debug, Clone)]
pub enum Role {
    /// The application behind HTTPS: `/health`, `/`, and a WebSocket echo on `/ws`.
    App,
    /// Port 80's job: redirect every request to `https_base` (no trailing slash).
    Redirect { https_base: String },
    /// A port 80 that serves the page in plain HTTP: the redirect is missing.
    NoRedirect,
    /// An external API without a key: 401 to everything.
    Provider { name: &'static str },
}

/// Serves one connection.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, role: Role) {
    let Ok(Ok(Some(request))) = tokio::time::timeout(IDLE, read_head(&mut stream)).await else {
        return;
    };
    let response = match &role {
        Role::Redirect { https_base } => redirect(&format!("{https_base}{}", request.path)),
        Role::NoRedirect | Role::App if request.path == "/" => page(),
        Role::App if request.path == "/health" => json(200, "OK", r#"{"status":"ok"}"#),
        Role::App if request.path == "/ws" => match request.websocket_key.as_deref() {
            Some(key) => {
                if stream.write_all(switching(key).as_bytes()).await.is_ok() {
                    echo(&mut stream).await;
                }
                return;
            }
            None => json(400, "Bad Request", r#"{"error":"expected a WebSocket upgrade"}"#),
        },
        Role::Provider { name } => json(
            401,
            "Unauthorized",
            &format!(r#"{{"error":"missing API key","provider":"{name}"}}"#),
        ),
        Role::App | Role::NoRedirect => json(404, "Not Found", r#"{"error":"not found"}"#),
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

struct Request {
    path: String,
    websocket_key: Option<String>,
}

async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut chunk).await?;
        if read == 0 || head.len() + read > MAX_HEAD {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..read]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let path = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    let websocket_key = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("sec-websocket-key")
            .then(|| value.trim().to_owned())
    });
    Ok(Some(Request { path, websocket_key }))
}

fn response(status: u16, reason: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}

fn json(status: u16, reason: &str, body: &str) -> String {
    response(status, reason, "Content-Type: application/json\r\n", body)
}

fn page() -> String {
    response(
        200,
        "OK",
        "Content-Type: text/html\r\nStrict-Transport-Security: max-age=31536000\r\n",
        "<!doctype html><title>shop</title><p>the demo shop</p>\n",
    )
}

fn redirect(location: &str) -> String {
    response(301, "Moved Permanently", &format!("Location: {location}\r\n"), "")
}

fn switching(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{WEBSOCKET_GUID}").as_bytes(),
    );
    let accept = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
}

/// Echoes text and binary frames (RFC 6455 section 5, payloads up to 64 KiB) until a close.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    loop {
        let Ok(Ok(Some((opcode, payload)))) = tokio::time::timeout(IDLE, read_frame(stream)).await else {
            return;
        };
        let reply_opcode = match opcode {
            0x1 | 0x2 => opcode,
            0x8 => {
                let _ = write_frame(stream, 0x8, &payload).await;
                return;
            }
            0x9 => 0xA,
            _ => continue,
        };
        if write_frame(stream, reply_opcode, &payload).await.is_err() {
            return;
        }
    }
}

async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).await?;
    let opcode = header[0] & 0x0f;
    let masked = header[1] & 0x80 != 0;
    let length = match header[1] & 0x7f {
        126 => {
            let mut extended = [0u8; 2];
            stream.read_exact(&mut extended).await?;
            usize::from(u16::from_be_bytes(extended))
        }
        127 => return Ok(None),
        short => usize::from(short),
    };
    let mut mask = [0u8; 4];
    if masked {
        stream.read_exact(&mut mask).await?;
    }
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).await?;
    if masked {
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
    }
    Ok(Some((opcode, payload)))
}

async fn write_frame<S: AsyncWrite + Unpin>(
    stream: &mut S,
    opcode: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    let mut frame = vec![0x80 | opcode];
    match u16::try_from(payload.len()) {
        Ok(short) if short < 126 => frame.push(short as u8),
        Ok(medium) => {
            frame.push(126);
            frame.extend_from_slice(&medium.to_be_bytes());
        }
        Err(_) => return Ok(()),
    }
    frame.extend_from_slice(payload);
    stream.write_all(&frame).await?;
    stream.flush().await
}
