//! The demo's deployment, in-process and on 127.0.0.1 only: an HTTPS application (health
//! endpoint, WebSocket echo) with a certificate from a throw-away CA, a plain-HTTP port that
//! redirects to it, a DNS server with an A record and a CNAME, a port that must stay closed, and
//! stand-ins for two external APIs that answer 401. `broken` adds three realistic mistakes: the
//! internal port is open, TLS 1.0 is enabled, and the redirect is missing.

use super::dns::{self, Entry};
use super::legacy_tls::{self, Reply};
use super::pki::DemoPki;
use super::web::{self, Role};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_rustls::TlsAcceptor;

/// The application's name; www is a CNAME of it.
pub const APP: &str = "shop.demo.test";
pub const WWW: &str = "www.shop.demo.test";
const PROVIDERS: [&str; 2] = ["api.openai.com", "api.deepgram.com"];
const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// How long a client may take to send its ClientHello.
const HELLO_WAIT: Duration = Duration::from_secs(5);

/// Why the deployment could not start.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error("cannot open a loopback socket: {0}")]
    Socket(#[from] std::io::Error),
    #[error("cannot make the demo's certificates: {0}")]
    Pki(#[from] rcgen::Error),
    #[error("cannot configure the demo's TLS server: {0}")]
    Tls(#[from] rustls::Error),
}

/// Where each part of the deployment listens.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub https: u16,
    pub http: u16,
    pub internal: u16,
    pub openai: u16,
    pub deepgram: u16,
    pub dns: SocketAddr,
}

/// The running deployment; dropping it stops every server.
pub struct Deployment {
    // Dropped last: the servers' tasks end with their runtime.
    runtime: tokio::runtime::Runtime,
    pub ports: Ports,
    /// The throw-away CA, for `--ca-file`.
    pub ca_pem: String,
}

impl Deployment {
    pub fn start(broken: bool) -> Result<Deployment, DeploymentError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let mut names = vec![APP, WWW];
        names.extend(PROVIDERS);
        let pki = DemoPki::new(&names)?;
        let mut config = rustls::ServerConfig::builder_with_provider(crate::trust::provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(pki.chain.clone(), pki.key())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let bind = || std::net::TcpListener::bind((LOOPBACK, 0));
        let https = bind()?;
        let http = bind()?;
        let openai = bind()?;
        let deepgram = bind()?;
        let internal = bind()?;
        let dns_socket = std::net::UdpSocket::bind((LOOPBACK, 0))?;
        let ports = Ports {
            https: https.local_addr()?.port(),
            http: http.local_addr()?.port(),
            internal: internal.local_addr()?.port(),
            openai: openai.local_addr()?.port(),
            deepgram: deepgram.local_addr()?.port(),
            dns: dns_socket.local_addr()?,
        };
        let https_base = format!("https://{APP}:{}", ports.https);
        let redirect = if broken {
            Role::NoRedirect
        } else {
            Role::Redirect { https_base }
        };
        let mut zone = HashMap::from([
            (APP.to_owned(), Entry::A(LOOPBACK)),
            (WWW.to_owned(), Entry::Cname(APP.to_owned())),
        ]);
        for provider in PROVIDERS {
            zone.insert(provider.to_owned(), Entry::A(LOOPBACK));
        }

        let _entered = runtime.enter();
        let listener = |socket: std::net::TcpListener| -> std::io::Result<TcpListener> {
            socket.set_nonblocking(true)?;
            TcpListener::from_std(socket)
        };
        runtime.spawn(tls_server(listener(https)?, acceptor.clone(), Role::App, broken));
        runtime.spawn(plain_server(listener(http)?, redirect));
        runtime.spawn(tls_server(
            listener(openai)?,
            acceptor.clone(),
            Role::Provider { name: "openai" },
            false,
        ));
        runtime.spawn(tls_server(
            listener(deepgram)?,
            acceptor,
            Role::Provider { name: "deepgram" },
            false,
        ));
        if broken {
            // The mistake: an internal service (a cache, say) answers on its port.
            runtime.spawn(accept_and_close(listener(internal)?));
        } else {
            // Released: nothing listens there during the run, and the kernel answers with a RST.
            drop(internal);
        }
        dns_socket.set_nonblocking(true)?;
        runtime.spawn(dns::serve(UdpSocket::from_std(dns_socket)?, zone));
        drop(_entered);
        Ok(Deployment {
            runtime,
            ports,
            ca_pem: pki.ca_pem,
        })
    }

    /// Stops every server now.
    pub fn stop(self) {
        self.runtime.shutdown_background();
    }
}

async fn plain_server(listener: TcpListener, role: Role) {
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(web::serve(stream, role.clone()));
        }
    }
}

async fn tls_server(listener: TcpListener, acceptor: TlsAcceptor, role: Role, legacy: bool) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, role) = (acceptor.clone(), role.clone());
        tokio::spawn(async move {
            if legacy {
                match tokio::time::timeout(HELLO_WAIT, legacy_answer(&mut stream)).await {
                    Ok(Some(bytes)) => {
                        let _ = stream.write_all(&bytes).await;
                        let _ = stream.shutdown().await;
                        return;
                    }
                    Ok(None) => {}
                    Err(_) => return,
                }
            }
            if let Ok(Ok(tls)) = tokio::time::timeout(HELLO_WAIT, acceptor.accept(stream)).await {
                web::serve(tls, role).await;
            }
        });
    }
}

/// The legacy answer to the connection's ClientHello, if it gets one; the hello is then read
/// off the socket (so closing sends a FIN, not a RST that could overtake the answer), else left
/// in place for rustls.
async fn legacy_answer(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let seen = stream.peek(&mut buffer).await.ok()?;
        if seen == 0 {
            return None;
        }
        match legacy_tls::answer(&buffer[..seen]) {
            Reply::Modern => return None,
            Reply::Legacy(bytes) => {
                let _ = stream.read(&mut buffer[..seen]).await;
                return Some(bytes);
            }
            Reply::NeedMore if seen == buffer.len() => return None,
            // The rest of the hello is on its way; peek does not wait for more than it has.
            Reply::NeedMore => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn accept_and_close(listener: TcpListener) {
    loop {
        let _ = listener.accept().await;
    }
}
