//! Store and forward: a mail's headers checked, then the mail kept durably — the raw bytes
//! sealed in the blob store (synced), the envelope and its processing job in one database
//! transaction — before the sender hears `250`. Everything after is the outbox's: a Suomi.fi
//! outage delays the notice, it never asks the sender to send again.
//!
//! The same mail (its Message-ID, or the hash of its bytes) received again adds nothing for a
//! recipient it had: one notice per recipient, however often a mail server retries.

use std::sync::Arc;

use app::domain::RecipientId;
use mail_parser::{Address, MessageParser};
use uuid::Uuid;

use super::address::MailAddress;
use crate::blobs::{BlobStore, Sha256Hex};
use crate::secrets::{Column, DataKeys};
use crate::store::{AcceptedMail, MailAcceptance, Store, Timestamp};

/// What the SMTP conversation established.
pub struct Envelope {
    pub organisation_id: Uuid,
    pub sender: String,
    /// Each recipient's address (`<code>@<domain>`) and what it names.
    pub recipients: Vec<(String, RecipientId)>,
    pub client_ip: String,
    pub helo: String,
    pub tls: bool,
}

/// Why a mail is refused after its data was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderRefusal {
    #[error("The mail could not be read as a MIME message")]
    Unreadable,
    #[error("From is required")]
    NoFrom,
    #[error("{0} is not in the organisation's registered sender domains")]
    ForeignDomain(&'static str),
    #[error("Cc and Bcc must be empty: protected content must not be copied to e-mail")]
    CopiesNotAllowed,
    #[error("Every recipient must be in To (a blind copy is not allowed)")]
    RecipientNotInTo,
    #[error("{0} must appear only once")]
    RepeatedHeader(&'static str),
}

impl HeaderRefusal {
    pub fn code(&self) -> u16 {
        550
    }

    pub fn status(&self) -> &'static str {
        match self {
            HeaderRefusal::Unreadable => "5.6.0",
            _ => "5.7.1",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Refused(HeaderRefusal),
    #[error("{0}")]
    Failed(String),
}

fn failed(error: impl std::fmt::Display) -> IntakeError {
    IntakeError::Failed(error.to_string())
}

/// What keeping did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    New(Uuid),
    /// Every recipient had this mail already.
    Before,
}

#[derive(Clone)]
pub struct Intake {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub keys: DataKeys,
}

/// The header facts the checks need, read once.
struct Headers {
    message_id: Option<String>,
    from: Vec<String>,
    reply_to: Vec<String>,
    copies: bool,
    to: Vec<String>,
}

fn addresses(address: Option<&Address>) -> Vec<String> {
    address
        .map(|address| {
            address
                .iter()
                .filter_map(|addr| addr.address())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn read_headers(raw: &[u8]) -> Result<Headers, HeaderRefusal> {
    let message = MessageParser::default()
        .parse_headers(raw)
        .ok_or(HeaderRefusal::Unreadable)?;
    // At most once (RFC 5322 3.6): the parser reads only the last of each, so a second From
    // would hide a foreign first one from the checks, and a mail program shows the first.
    for name in [
        "From",
        "Sender",
        "Reply-To",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Message-ID",
    ] {
        let times = message
            .headers()
            .iter()
            .filter(|header| header.name.as_str().eq_ignore_ascii_case(name))
            .count();
        if times > 1 {
            return Err(HeaderRefusal::RepeatedHeader(name));
        }
    }
    Ok(Headers {
        message_id: message
            .message_id()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        from: addresses(message.from()),
        reply_to: addresses(message.reply_to()),
        copies: !addresses(message.cc()).is_empty() || !addresses(message.bcc()).is_empty(),
        to: addresses(message.to()),
    })
}

/// From and Reply-To in the organisation's domains, no copies, every recipient in To.
fn check_headers(
    headers: &Headers,
    sender_domains: &[String],
    recipients: &[(String, RecipientId)],
) -> Result<(), HeaderRefusal> {
    if headers.from.is_empty() {
        return Err(HeaderRefusal::NoFrom);
    }
    let registered = |address: &String| {
        MailAddress::parse(address).is_some_and(|address| address.in_domains(sender_domains))
    };
    if !headers.from.iter().all(registered) {
        return Err(HeaderRefusal::ForeignDomain("From"));
    }
    if !headers.reply_to.iter().all(registered) {
        return Err(HeaderRefusal::ForeignDomain("Reply-To"));
    }
    if headers.copies {
        return Err(HeaderRefusal::CopiesNotAllowed);
    }
    let in_to = |id: &RecipientId| {
        headers.to.iter().any(|to| {
            MailAddress::parse(to)
                .and_then(|to| super::address::recipient_of(&to))
                .is_some_and(|to| &to == id)
        })
    };
    if !recipients.iter().all(|(_, id)| in_to(id)) {
        return Err(HeaderRefusal::RecipientNotInTo);
    }
    Ok(())
}

impl Intake {
    pub async fn accept(&self, envelope: Envelope, raw: Vec<u8>) -> Result<Kept, IntakeError> {
        let headers = read_headers(&raw).map_err(IntakeError::Refused)?;
        let sender_domains = self
            .store
            .sender_domains(envelope.organisation_id)
            .await
            .map_err(failed)?;
        check_headers(&headers, &sender_domains, &envelope.recipients)
            .map_err(IntakeError::Refused)?;
        let message_key = match headers.message_id {
            Some(id) => format!("id:{id}"),
            None => format!("sha256:{}", Sha256Hex::of(&raw)),
        };
        // Under every data key still configured: a mail kept before a key rotation is still
        // the same mail.
        let every_lookup: Vec<Vec<Vec<u8>>> = envelope
            .recipients
            .iter()
            .map(|(_, id)| self.keys.lookup_hashes(id.expose()))
            .collect();
        let had = self
            .store
            .recipients_with_mail(
                envelope.organisation_id,
                &message_key,
                &every_lookup.concat(),
            )
            .await
            .map_err(failed)?;
        let (recipients, lookups): (Vec<_>, Vec<_>) = envelope
            .recipients
            .into_iter()
            .zip(every_lookup)
            .filter(|(_, lookups)| !lookups.iter().any(|lookup| had.contains(lookup)))
            .map(|(recipient, lookups)| (recipient, lookups[0].clone()))
            .unzip();
        if recipients.is_empty() {
            return Ok(Kept::Before);
        }
        let addresses: Vec<&str> = recipients
            .iter()
            .map(|(address, _)| address.as_str())
            .collect();
        let sealed_raw = self.keys.seal_bytes(Column::InboundMail, &raw);
        // Synced before the row that names it is committed.
        let digest = self.blobs.put(&sealed_raw).await.map_err(failed)?;
        let mail = AcceptedMail {
            id: Uuid::now_v7(),
            organisation_id: envelope.organisation_id,
            message_key,
            raw_sha256: digest.to_string(),
            size_bytes: raw.len() as i64,
            envelope_from: envelope.sender,
            recipients_sealed: self.keys.seal(
                Column::MailRecipients,
                &serde_json::to_string(&addresses).map_err(failed)?,
            ),
            recipient_lookups: lookups,
            client_ip: envelope.client_ip,
            helo: envelope.helo,
            tls: envelope.tls,
            received_at: Timestamp::now(),
        };
        match self.store.accept_mail(&mail).await.map_err(failed)? {
            MailAcceptance::Accepted => Ok(Kept::New(mail.id)),
            MailAcceptance::AlreadyAccepted => Ok(Kept::Before),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipients(codes: &[&str]) -> Vec<(String, RecipientId)> {
        codes
            .iter()
            .map(|code| {
                (
                    format!("{code}@asiointitili.fi"),
                    RecipientId::parse(code).unwrap(),
                )
            })
            .collect()
    }

    fn checked(raw: &str, codes: &[&str]) -> Result<(), HeaderRefusal> {
        let headers = read_headers(raw.as_bytes())?;
        check_headers(&headers, &["kunta.example".into()], &recipients(codes))
    }

    #[test]
    fn from_and_reply_to_must_be_in_the_registered_domains() {
        let ok = "From: Kirjaamo <kirjaamo@kunta.example>\r\nTo: 010280-952L@asiointitili.fi\r\n\
                  Subject: x\r\n\r\nbody\r\n";
        assert_eq!(checked(ok, &["010280-952L"]), Ok(()));
        let foreign = ok.replace("kirjaamo@kunta.example", "someone@gmail.example");
        assert_eq!(
            checked(&foreign, &["010280-952L"]),
            Err(HeaderRefusal::ForeignDomain("From"))
        );
        let reply_to = format!("Reply-To: x@elsewhere.example\r\n{ok}");
        assert_eq!(
            checked(&reply_to, &["010280-952L"]),
            Err(HeaderRefusal::ForeignDomain("Reply-To"))
        );
    }

    #[test]
    fn a_header_that_must_be_single_is_refused_when_repeated() {
        let ok = "From: Kirjaamo <kirjaamo@kunta.example>\r\nTo: 010280-952L@asiointitili.fi\r\n\
                  Subject: x\r\n\r\nbody\r\n";
        assert_eq!(checked(ok, &["010280-952L"]), Ok(()));
        let hidden_from = format!("From: someone@gmail.example\r\n{ok}");
        assert_eq!(
            checked(&hidden_from, &["010280-952L"]),
            Err(HeaderRefusal::RepeatedHeader("From"))
        );
        let emptied_cc = format!("Cc: boss@elsewhere.example\r\nCc:\r\n{ok}");
        assert_eq!(
            checked(&emptied_cc, &["010280-952L"]),
            Err(HeaderRefusal::RepeatedHeader("Cc"))
        );
    }

    #[test]
    fn copies_and_blind_recipients_are_refused() {
        let cc = "From: k@kunta.example\r\nTo: 010280-952L@asiointitili.fi\r\n\
                  Cc: boss@kunta.example\r\nSubject: x\r\n\r\nbody\r\n";
        assert_eq!(
            checked(cc, &["010280-952L"]),
            Err(HeaderRefusal::CopiesNotAllowed)
        );
        let blind = "From: k@kunta.example\r\nTo: 010280-952L@asiointitili.fi\r\n\
                     Subject: x\r\n\r\nbody\r\n";
        assert_eq!(
            checked(blind, &["010280-952L", "131052-308T"]),
            Err(HeaderRefusal::RecipientNotInTo)
        );
    }
}
