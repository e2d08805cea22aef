//! The SMTP bridge: Suomi.fi Messages' e-mail interface (closing 1.1.2027) kept alive on
//! top of the REST API. An organisation routes `asiointitili.fi` to Tiedoksi; a mail to
//! `HETU@asiointitili.fi` from its registered domain becomes a notice through the same
//! compose service and outbox as the pages (exactly once, events, legal dates, proof).
//!
//! `session` speaks the protocol, `senders` decides who may send, `intake` keeps accepted
//! mail durably before `250`, and `ingest` (an outbox job) turns a kept mail into a notice.

pub mod acknowledge;
pub mod address;
pub mod admin;
pub mod ingest;
pub mod intake;
pub mod kept;
pub mod replies;
pub mod report;
pub mod senders;
pub mod session;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::config::SmtpConfig;
use intake::Intake;
use senders::Senders;
use session::{Ended, Session};

/// Connections served at once; more wait for a free slot (their mail server retries).
const MAX_CONNECTIONS: usize = 256;

/// What every conversation shares.
pub struct Bridge {
    pub config: SmtpConfig,
    pub tls: tokio_rustls::TlsAcceptor,
    pub senders: Senders,
    pub intake: Intake,
}

/// The bound listener; `run` serves it until stopped.
pub struct SmtpListener {
    listener: TcpListener,
    bridge: Arc<Bridge>,
    certificate_pem: String,
}

impl SmtpListener {
    pub async fn bind(
        config: SmtpConfig,
        address: SocketAddr,
        senders: Senders,
        intake: Intake,
    ) -> anyhow::Result<Self> {
        let tls = tls::load_or_generate(&config)?;
        let listener = TcpListener::bind(address).await?;
        Ok(Self {
            listener,
            certificate_pem: tls.certificate_pem,
            bridge: Arc::new(Bridge {
                config,
                tls: tls.acceptor,
                senders,
                intake,
            }),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The certificate STARTTLS shows, as PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = stop.changed() => return,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "SMTP bridge: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let bridge = self.bridge.clone();
            tokio::spawn(async move {
                if let Err(error) = serve(stream, peer, &bridge).await {
                    tracing::debug!(%error, %peer, "SMTP conversation ended with an error");
                }
                drop(slot);
            });
        }
    }
}

/// One connection: plaintext until STARTTLS, then the same conversation over TLS.
async fn serve(mut stream: TcpStream, peer: SocketAddr, bridge: &Bridge) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut session = Session::new(bridge, peer);
    session.greet(&mut stream).await?;
    match session.converse(&mut stream).await? {
        Ended::Closed => Ok(()),
        Ended::StartTls => {
            let mut tls = bridge.tls.accept(stream).await?;
            session.tls_started();
            match session.converse(&mut tls).await? {
                // A second STARTTLS is answered 503 inside the TLS conversation.
                Ended::Closed | Ended::StartTls => Ok(()),
            }
        }
    }
}
