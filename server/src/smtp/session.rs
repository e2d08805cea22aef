//! One SMTP conversation: smtp-proto parses the commands, this loop keeps the state (greeting,
//! TLS, the transaction) and answers with RFC 5321 / 3463 codes. Every check that can be made
//! before the mail is kept is made here, so a refused mail is refused while the sender's
//! server is still connected; what is accepted is kept durably before the `250`.

use std::net::SocketAddr;
use std::time::Duration;

use app::domain::RecipientId;
use smtp_proto::request::receiver::{DataReceiver, RequestReceiver};
use smtp_proto::{
    EhloResponse, Error as ProtocolError, Request, AUTH_LOGIN, AUTH_PLAIN, EXT_8BIT_MIME, EXT_AUTH,
    EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING, EXT_SIZE, EXT_SMTP_UTF8, EXT_START_TLS,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use super::address::{recipient_of, MailAddress};
use super::intake::{Envelope, IntakeError, Kept};
use super::senders::Authenticated;
use super::Bridge;

/// RFC 5321 4.5.3.2: at least five minutes for a command, ten for the data.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
const DATA_TIMEOUT: Duration = Duration::from_secs(600);
/// A client that keeps getting it wrong is disconnected.
const MAX_ERRORS: u32 = 20;
/// Wrong credentials this many times end the connection.
const MAX_AUTH_FAILURES: u32 = 3;

/// How a conversation on one stream ended.
pub enum Ended {
    Closed,
    /// STARTTLS was answered with `220`: continue on a TLS stream.
    StartTls,
}

/// The sender once `MAIL` is accepted: the organisation its domain belongs to.
struct Sender {
    address: String,
    organisation_id: Uuid,
}

struct Recipient {
    address: String,
    id: RecipientId,
}

struct Transaction {
    sender: Sender,
    recipients: Vec<Recipient>,
}

/// A reply: code, enhanced status, text.
struct Reply(u16, &'static str, String);

impl Reply {
    fn new(code: u16, status: &'static str, text: impl Into<String>) -> Self {
        Self(code, status, text.into())
    }

    fn line(&self) -> String {
        format!("{} {} {}\r\n", self.0, self.1, self.2)
    }
}

/// Base64 (RFC 4648) to text.
fn decode(text: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// One line of an AUTH exchange, read after the commands already received.
async fn read_line<S: AsyncRead + Unpin>(
    stream: &mut S,
    pending: &mut Vec<u8>,
    chunk: &mut [u8],
) -> std::io::Result<String> {
    loop {
        if let Some(at) = pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=at).collect();
            return Ok(String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_string());
        }
        if pending.len() > 12 * 1024 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, stream.read(chunk)).await {
            Ok(Ok(0)) | Err(_) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(Ok(n)) => pending.extend_from_slice(&chunk[..n]),
            Ok(Err(error)) => return Err(error),
        }
    }
}

fn temporary_failure() -> Reply {
    Reply::new(451, "4.3.0", "Temporary failure, please try again later")
}

pub struct Session<'a> {
    bridge: &'a Bridge,
    peer: SocketAddr,
    tls: bool,
    helo: Option<String>,
    transaction: Option<Transaction>,
    authenticated: Option<Authenticated>,
    errors: u32,
    auth_failures: u32,
}

impl<'a> Session<'a> {
    pub fn new(bridge: &'a Bridge, peer: SocketAddr) -> Self {
        Self {
            bridge,
            peer,
            tls: false,
            helo: None,
            transaction: None,
            authenticated: None,
            errors: 0,
            auth_failures: 0,
        }
    }

    /// RFC 3207: after the handshake the client starts over with EHLO.
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.helo = None;
        self.transaction = None;
    }

    pub async fn greet<S: AsyncWrite + Unpin>(&self, stream: &mut S) -> std::io::Result<()> {
        let greeting = format!(
            "220 {} ESMTP Tiedoksi (Suomi.fi Messages bridge)\r\n",
            self.bridge.config.hostname
        );
        stream.write_all(greeting.as_bytes()).await?;
        stream.flush().await
    }

    /// Reads and answers commands until QUIT, STARTTLS or the connection ends.
    pub async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> std::io::Result<Ended> {
        let mut receiver = RequestReceiver::default();
        let mut pending: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            // Every complete command already read, in order (PIPELINING).
            loop {
                let mut bytes = pending.iter();
                let parsed = receiver
                    .ingest(&mut bytes)
                    .map(|request| request.into_owned());
                let consumed = pending.len() - bytes.as_slice().len();
                pending.drain(..consumed);
                let request = match parsed {
                    Ok(request) => request,
                    Err(ProtocolError::NeedsMoreData { .. }) => break,
                    Err(error) => {
                        let reply = self.protocol_error(&error);
                        self.send(stream, &reply).await?;
                        if self.errors > MAX_ERRORS {
                            return self.too_many_errors(stream).await;
                        }
                        continue;
                    }
                };
                match request {
                    Request::Quit => {
                        self.send(stream, &Reply::new(221, "2.0.0", "Bye")).await?;
                        return Ok(Ended::Closed);
                    }
                    Request::StartTls if !self.tls => {
                        self.send(stream, &Reply::new(220, "2.0.0", "Ready to start TLS"))
                            .await?;
                        // Anything the client sent after STARTTLS in plaintext is dropped,
                        // never read as if it came over TLS (CVE-2011-0411).
                        return Ok(Ended::StartTls);
                    }
                    Request::Data => {
                        let reply = self.data(stream, &mut pending, &mut chunk).await?;
                        self.send(stream, &reply).await?;
                    }
                    Request::Auth {
                        mechanism,
                        initial_response,
                    } => {
                        let reply = self
                            .auth(
                                stream,
                                &mut pending,
                                &mut chunk,
                                mechanism,
                                initial_response,
                            )
                            .await?;
                        self.send(stream, &reply).await?;
                        if self.auth_failures >= MAX_AUTH_FAILURES {
                            return self.too_many_errors(stream).await;
                        }
                    }
                    Request::Ehlo { host } => {
                        self.helo = Some(host);
                        self.transaction = None;
                        let ehlo = self.ehlo();
                        stream.write_all(&ehlo).await?;
                        stream.flush().await?;
                    }
                    request => {
                        let reply = self.command(request).await;
                        self.send(stream, &reply).await?;
                        if self.errors > MAX_ERRORS {
                            return self.too_many_errors(stream).await;
                        }
                    }
                }
            }
            let read = tokio::time::timeout(COMMAND_TIMEOUT, stream.read(&mut chunk)).await;
            match read {
                Ok(Ok(0)) => return Ok(Ended::Closed),
                Ok(Ok(n)) => pending.extend_from_slice(&chunk[..n]),
                Ok(Err(error)) => return Err(error),
                Err(_) => {
                    let reply = Reply::new(421, "4.4.2", "Idle too long, closing");
                    let _ = self.send(stream, &reply).await;
                    return Ok(Ended::Closed);
                }
            }
        }
    }

    async fn too_many_errors<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
    ) -> std::io::Result<Ended> {
        let reply = Reply::new(421, "4.7.0", "Too many errors, closing");
        self.send(stream, &reply).await?;
        Ok(Ended::Closed)
    }

    async fn send<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        reply: &Reply,
    ) -> std::io::Result<()> {
        stream.write_all(reply.line().as_bytes()).await?;
        stream.flush().await
    }

    fn protocol_error(&mut self, error: &ProtocolError) -> Reply {
        self.errors += 1;
        match error {
            ProtocolError::UnknownCommand => Reply::new(500, "5.5.1", "Unknown command"),
            ProtocolError::ResponseTooLong => Reply::new(500, "5.5.2", "Line too long"),
            ProtocolError::InvalidSenderAddress => {
                Reply::new(501, "5.1.7", "Invalid sender address")
            }
            ProtocolError::InvalidRecipientAddress => {
                Reply::new(501, "5.1.3", "Invalid recipient address")
            }
            ProtocolError::UnsupportedParameter { param } => {
                Reply::new(555, "5.5.4", format!("Unsupported parameter {param}"))
            }
            _ => Reply::new(501, "5.5.2", "Syntax error"),
        }
    }

    /// What this server offers: STARTTLS until TLS is on; SIZE, 8BITMIME, PIPELINING,
    /// SMTPUTF8 and enhanced status codes always.
    fn ehlo(&self) -> Vec<u8> {
        let mut response = EhloResponse::new(self.bridge.config.hostname.as_str());
        response.capabilities =
            EXT_SIZE | EXT_8BIT_MIME | EXT_PIPELINING | EXT_SMTP_UTF8 | EXT_ENHANCED_STATUS_CODES;
        if self.tls {
            // Credentials only over TLS.
            response.capabilities |= EXT_AUTH;
            response.auth_mechanisms = AUTH_PLAIN | AUTH_LOGIN;
        } else {
            response.capabilities |= EXT_START_TLS;
        }
        response.size = self.bridge.config.max_message_bytes;
        let mut bytes = Vec::new();
        response
            .write(&mut bytes)
            .expect("writing to a Vec does not fail");
        // The library's greeting line is a joke; ours names the service.
        String::from_utf8_lossy(&bytes)
            .replacen("you had me at EHLO", "Tiedoksi", 1)
            .into_bytes()
    }

    async fn command(&mut self, request: Request<String>) -> Reply {
        let reply = match request {
            Request::Helo { host } => {
                self.helo = Some(host);
                self.transaction = None;
                Reply::new(250, "2.0.0", self.bridge.config.hostname.clone())
            }
            Request::Mail { from } => self.mail(&from.address, from.size).await,
            Request::Rcpt { to } => self.rcpt(&to.address),
            Request::Rset => {
                self.transaction = None;
                Reply::new(250, "2.0.0", "OK")
            }
            Request::Noop { .. } => Reply::new(250, "2.0.0", "OK"),
            Request::StartTls => Reply::new(503, "5.5.1", "TLS already active"),
            Request::Vrfy { .. } => Reply::new(252, "2.5.0", "Cannot verify, send to it"),
            Request::Help { .. } => Reply::new(
                214,
                "2.0.0",
                "Mail to <identity code>@asiointitili.fi becomes a Suomi.fi message",
            ),
            _ => Reply::new(502, "5.5.1", "Command not implemented"),
        };
        if reply.0 >= 500 {
            self.errors += 1;
        }
        reply
    }

    /// AUTH PLAIN and LOGIN (RFC 4954, 4616), after STARTTLS only.
    async fn auth<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        pending: &mut Vec<u8>,
        chunk: &mut [u8],
        mechanism: u64,
        initial: String,
    ) -> std::io::Result<Reply> {
        if !self.tls {
            return Ok(Reply::new(
                538,
                "5.7.11",
                "Must issue a STARTTLS command first",
            ));
        }
        if self.authenticated.is_some() || self.transaction.is_some() {
            return Ok(Reply::new(503, "5.5.1", "AUTH not allowed now"));
        }
        let mut ask = async |stream: &mut S, prompt: &str| -> std::io::Result<String> {
            stream
                .write_all(format!("334 {prompt}\r\n").as_bytes())
                .await?;
            stream.flush().await?;
            read_line(stream, pending, chunk).await
        };
        let given = |text: &str| (!text.is_empty() && text != "=").then(|| text.to_string());
        let (name, secret) = match mechanism {
            AUTH_PLAIN => {
                let response = match given(&initial) {
                    Some(response) => response,
                    None => ask(stream, "").await?,
                };
                match decode(&response).map(|plain| {
                    let mut fields = plain.split('\0');
                    let _authorisation_identity = fields.next();
                    (
                        fields.next().map(str::to_string),
                        fields.next().map(str::to_string),
                    )
                }) {
                    Some((Some(name), Some(secret))) => (name, secret),
                    _ => return Ok(self.cancelled_or_malformed(&response)),
                }
            }
            AUTH_LOGIN => {
                let name = match given(&initial) {
                    Some(name) => name,
                    // "Username:" and "Password:", as the mechanism's clients expect.
                    None => ask(stream, "VXNlcm5hbWU6").await?,
                };
                let secret = ask(stream, "UGFzc3dvcmQ6").await?;
                match (decode(&name), decode(&secret)) {
                    (Some(name), Some(secret)) => (name, secret),
                    _ => return Ok(self.cancelled_or_malformed(&secret)),
                }
            }
            _ => return Ok(Reply::new(504, "5.5.4", "Use AUTH PLAIN or LOGIN")),
        };
        match self.bridge.senders.authenticate(&name, &secret).await {
            Ok(Some(authenticated)) => {
                self.authenticated = Some(authenticated);
                Ok(Reply::new(235, "2.7.0", "Authentication successful"))
            }
            Ok(None) => {
                self.auth_failures += 1;
                Ok(Reply::new(
                    535,
                    "5.7.8",
                    "Authentication credentials invalid",
                ))
            }
            Err(error) => {
                tracing::error!(%error, "SMTP bridge: could not check a credential");
                Ok(temporary_failure())
            }
        }
    }

    fn cancelled_or_malformed(&mut self, response: &str) -> Reply {
        if response.trim() == "*" {
            return Reply::new(501, "5.0.0", "Authentication cancelled");
        }
        self.auth_failures += 1;
        Reply::new(501, "5.5.2", "Cannot decode the response")
    }

    fn plaintext_allowed(&self) -> bool {
        self.bridge.config.allow_plaintext_loopback && self.peer.ip().is_loopback()
    }

    async fn mail(&mut self, address: &str, declared_size: usize) -> Reply {
        if self.helo.is_none() {
            return Reply::new(503, "5.5.1", "Say EHLO first");
        }
        if self.transaction.is_some() {
            return Reply::new(503, "5.5.1", "Sender already given");
        }
        if !self.tls && !self.plaintext_allowed() {
            return Reply::new(530, "5.7.0", "Must issue a STARTTLS command first");
        }
        if declared_size > self.bridge.config.max_message_bytes {
            return Reply::new(
                552,
                "5.3.4",
                format!(
                    "Message too big: at most {} bytes",
                    self.bridge.config.max_message_bytes
                ),
            );
        }
        let Some(sender) = MailAddress::parse(address) else {
            return Reply::new(550, "5.7.1", "A sender address is required");
        };
        match self
            .bridge
            .senders
            .authorise(&sender, self.peer.ip(), self.authenticated.as_ref())
            .await
        {
            Ok(Ok(organisation_id)) => {
                self.transaction = Some(Transaction {
                    sender: Sender {
                        address: format!("{}@{}", sender.local, sender.domain),
                        organisation_id,
                    },
                    recipients: Vec::new(),
                });
                Reply::new(250, "2.1.0", "Sender OK")
            }
            Ok(Err(refusal)) => Reply::new(550, "5.7.1", refusal.to_string()),
            Err(error) => {
                tracing::error!(%error, "SMTP bridge: could not check a sender");
                temporary_failure()
            }
        }
    }

    fn rcpt(&mut self, address: &str) -> Reply {
        let config = &self.bridge.config;
        let Some(transaction) = self.transaction.as_mut() else {
            return Reply::new(503, "5.5.1", "Give the sender (MAIL) first");
        };
        let Some(address) = MailAddress::parse(address) else {
            return Reply::new(550, "5.1.1", "Not a recipient address");
        };
        if !address.in_domains(&config.recipient_domains) {
            return Reply::new(
                550,
                "5.1.1",
                format!(
                    "Only mail to {} is accepted here",
                    config.recipient_domains.join(", ")
                ),
            );
        }
        let Some(id) = recipient_of(&address) else {
            // The local part is never echoed: it may be a (mistyped) identity code.
            return Reply::new(
                550,
                "5.1.1",
                "The address must be a valid personal identity code or business ID",
            );
        };
        if transaction.recipients.iter().any(|known| known.id == id) {
            return Reply::new(250, "2.1.5", "Recipient OK (already given)");
        }
        if transaction.recipients.len() >= config.max_recipients {
            return Reply::new(
                452,
                "4.5.3",
                format!("Too many recipients: at most {}", config.max_recipients),
            );
        }
        transaction.recipients.push(Recipient {
            address: format!("{}@{}", id.expose(), address.domain),
            id,
        });
        Reply::new(250, "2.1.5", "Recipient OK")
    }

    /// Receives the mail after `354`, then checks its headers and keeps it: the reply is
    /// `250` only once the mail is durable.
    async fn data<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        pending: &mut Vec<u8>,
        chunk: &mut [u8],
    ) -> std::io::Result<Reply> {
        match &self.transaction {
            None => return Ok(Reply::new(503, "5.5.1", "Give the sender (MAIL) first")),
            Some(transaction) if transaction.recipients.is_empty() => {
                return Ok(Reply::new(554, "5.5.1", "No valid recipients"))
            }
            Some(_) => {}
        }
        self.send(
            stream,
            &Reply(354, "", "End data with <CR><LF>.<CR><LF>".into()),
        )
        .await?;
        let max = self.bridge.config.max_message_bytes;
        let mut receiver = DataReceiver::new();
        let mut message = Vec::new();
        let mut too_big = false;
        loop {
            let mut bytes = pending.iter();
            let done = receiver.ingest(&mut bytes, &mut message);
            let consumed = pending.len() - bytes.as_slice().len();
            pending.drain(..consumed);
            if message.len() > max {
                // Read to the end, keep nothing: the answer comes after the final dot.
                too_big = true;
                message.clear();
            }
            if done {
                break;
            }
            match tokio::time::timeout(DATA_TIMEOUT, stream.read(chunk)).await {
                Ok(Ok(0)) | Err(_) => {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                Ok(Ok(n)) => pending.extend_from_slice(&chunk[..n]),
                Ok(Err(error)) => return Err(error),
            }
        }
        let transaction = self.transaction.take().expect("checked above");
        if too_big {
            return Ok(Reply::new(
                552,
                "5.3.4",
                format!("Message too big: at most {max} bytes"),
            ));
        }
        Ok(self.keep(transaction, message).await)
    }

    async fn keep(&self, transaction: Transaction, raw: Vec<u8>) -> Reply {
        let envelope = Envelope {
            organisation_id: transaction.sender.organisation_id,
            sender: transaction.sender.address,
            recipients: transaction
                .recipients
                .into_iter()
                .map(|recipient| (recipient.address, recipient.id))
                .collect(),
            client_ip: self.peer.ip().to_string(),
            helo: self.helo.clone().unwrap_or_default(),
            tls: self.tls,
        };
        match self.bridge.intake.accept(envelope, raw).await {
            Ok(Kept::New(id)) => Reply::new(250, "2.0.0", format!("Queued as {id}")),
            Ok(Kept::Before) => Reply::new(250, "2.0.0", "Queued before (the same mail)"),
            Err(IntakeError::Refused(refusal)) => {
                Reply::new(refusal.code(), refusal.status(), refusal.to_string())
            }
            Err(IntakeError::Failed(error)) => {
                tracing::error!(%error, "SMTP bridge: could not keep a mail");
                temporary_failure()
            }
        }
    }
}
