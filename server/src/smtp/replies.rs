//! Citizens' messages as mail, and officials' answers back (opt-in per organisation:
//! `tiedoksi smtp settings --replies-to kirjaamo@kunta.fi`).
//!
//! A citizen's message comes as mail from `HETU@asiointitili.fi` — the form case systems of
//! the old interface parse — with its attachments and a "Viestin tiedot" block at the end
//! (our documented layout, since the original's is not public):
//!
//! ```text
//! Viestin tiedot
//! Lähettäjä: Maija Meikäläinen
//! Henkilötunnus: 311299-047R
//! Asiamies: Matti Meikäläinen          (only when someone wrote on the owner's behalf)
//! Suomi.fi-viestin tunnus: 900001
//! Vastaus viestiin: 123456             (only for an answer to one of our messages)
//! Lähetetty: 30.11.2026 9.15
//! ```
//!
//! The mail's Message-ID is `<suomifi-<message id>@<host>>`. An official who answers it (to
//! `HETU@asiointitili.fi`, threaded to that id) sends a Suomi.fi reply to the citizen's
//! message: the bridge finds the id in `In-Reply-To`/`References` and strips the block
//! (and quoted copies of it) from the answer, as DVV told officials to do by hand.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mail_builder::headers::raw::Raw;
use mail_builder::MessageBuilder;
use tokio::sync::watch;

use super::report::Relay;
use crate::blobs::{BlobStore, Sha256Hex};
use crate::delivery::worker::{fatal, retryable, JobFailure, JobHandler};
use crate::local_time::finnish_local;
use crate::secrets::{Column, DataKeys};
use crate::store::{CitizenReply, Job, Store, StoreResult, Timestamp};

/// The heading of the block; a line with it starts what an answer must not carry.
pub const DETAILS_HEADING: &str = "Viestin tiedot";
const DETAIL_LABELS: [&str; 6] = [
    "Lähettäjä",
    "Henkilötunnus",
    "Asiamies",
    "Suomi.fi-viestin tunnus",
    "Vastaus viestiin",
    "Lähetetty",
];

/// The Message-ID a forwarded citizen message gets.
pub fn forwarded_message_id(message_id: i64, hostname: &str) -> String {
    format!("suomifi-{message_id}@{hostname}")
}

/// The citizen's message an answer is threaded to, from its `In-Reply-To` / `References`.
pub fn answered_message_id(thread: &[String]) -> Option<i64> {
    thread.iter().find_map(|id| {
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        id.strip_prefix("suomifi-")?.split('@').next()?.parse().ok()
    })
}

/// The answer without the "Viestin tiedot" block, wherever it is quoted (`> `).
pub fn without_details(body: &str) -> String {
    let unquoted = |line: &str| line.trim_start_matches(['>', ' ']).trim().to_string();
    let mut kept = Vec::new();
    let mut in_block = false;
    for line in body.lines() {
        let plain = unquoted(line);
        if plain == DETAILS_HEADING {
            in_block = true;
            continue;
        }
        if in_block {
            let is_detail = DETAIL_LABELS
                .iter()
                .any(|label| plain.starts_with(&format!("{label}:")));
            if is_detail {
                continue;
            }
            in_block = false;
        }
        kept.push(line);
    }
    kept.join("\n").trim_end().to_string()
}

/// The block that ends a forwarded message.
fn details(reply: &CitizenReply, code: Option<&str>) -> String {
    let mut block = format!("{DETAILS_HEADING}\n");
    if let Some(name) = &reply.sender_name {
        block.push_str(&format!("Lähettäjä: {name}\n"));
    }
    if let Some(code) = code {
        block.push_str(&format!("Henkilötunnus: {code}\n"));
    }
    if let Some(agent) = &reply.on_behalf_name {
        block.push_str(&format!("Asiamies: {agent}\n"));
    }
    block.push_str(&format!("Suomi.fi-viestin tunnus: {}\n", reply.message_id));
    if let Some(root) = reply.in_reply_to {
        block.push_str(&format!("Vastaus viestiin: {root}\n"));
    }
    block.push_str(&format!("Lähetetty: {}\n", finnish_local(reply.sent_at)));
    block
}

/// Finds citizens' messages to forward and queues them.
pub struct ReplyForwarding {
    pub store: Arc<dyn Store>,
}

impl ReplyForwarding {
    pub async fn pass(&self) -> StoreResult<usize> {
        let mut queued = 0;
        for (reply, organisation) in self.store.replies_to_forward(200).await? {
            if self
                .store
                .record_reply_forwarding(reply, organisation, Timestamp::now())
                .await?
            {
                queued += 1;
            }
        }
        Ok(queued)
    }

    pub async fn run(
        self,
        interval: Duration,
        stop: watch::Receiver<bool>,
        leader: crate::delivery::Leader,
    ) {
        crate::delivery::every_as_leader(
            &leader,
            "reply_forwarding",
            interval,
            stop,
            "forwarding citizens' messages",
            || async { self.pass().await.map(|_| ()) },
        )
        .await
    }
}

/// Sends one citizen's message as mail.
pub struct ForwardReplies {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub keys: DataKeys,
    pub relay: Option<Relay>,
    pub hostname: String,
    /// The envelope sender (bounces of forwarded mail go to the operator).
    pub from: String,
    /// The domain citizens' addresses are in (the first recipient domain).
    pub citizen_domain: String,
}

impl ForwardReplies {
    async fn build(&self, reply: &CitizenReply, to: &str) -> Result<Vec<u8>, JobFailure> {
        let code = match &reply.sender_sealed {
            Some(sealed) => Some(self.keys.open(Column::ReplySender, sealed).map_err(fatal)?),
            None => None,
        };
        let from_address = format!(
            "{}@{}",
            code.as_deref().unwrap_or("tuntematon"),
            self.citizen_domain
        );
        let body = format!(
            "{}\n\n-- \n{}",
            reply.body.trim_end(),
            details(reply, code.as_deref())
        );
        // Threaded under the mail the notice came from, when it came by mail.
        let thread = match reply.notice_id {
            Some(notice) => self
                .store
                .mail_of_notice(notice)
                .await
                .map_err(retryable)?
                .and_then(|mail| mail.message_key.strip_prefix("id:").map(str::to_string)),
            None => None,
        };
        let mut files = Vec::new();
        for attachment in reply.attachments() {
            let digest = Sha256Hex::parse(&attachment.sha256).map_err(fatal)?;
            let bytes = self
                .blobs
                .get(&digest)
                .await
                .map_err(retryable)?
                .ok_or_else(|| fatal("a reply's attachment is missing"))?;
            files.push((attachment.media_type, attachment.filename, bytes));
        }
        let message_id = forwarded_message_id(reply.message_id, &self.hostname);
        let from = mail_builder::headers::address::Address::new_address(
            reply.sender_name.as_deref(),
            from_address.as_str(),
        );
        let mut builder = MessageBuilder::new()
            .from(from)
            .to(to)
            .subject(reply.title.as_str())
            .message_id(message_id.as_str())
            .header(
                "X-Tiedoksi-Suomifi-Message",
                Raw::new(reply.message_id.to_string()),
            )
            .text_body(body);
        if let Some(id) = thread.as_deref() {
            builder = builder.in_reply_to(id).references(id);
        }
        for (media_type, filename, bytes) in &files {
            builder = builder.attachment(media_type.as_str(), filename.as_str(), bytes.as_slice());
        }
        builder.write_to_vec().map_err(fatal)
    }
}

#[async_trait]
impl JobHandler for ForwardReplies {
    async fn handle(&self, job: &Job) -> Result<(), JobFailure> {
        let organisation = job.organisation_id;
        let reply = self
            .store
            .reply(organisation, job.subject_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| fatal("the citizen's message is gone"))?;
        let settings = self
            .store
            .mail_settings(organisation)
            .await
            .map_err(retryable)?;
        let Some(to) = settings.replies_to else {
            return Ok(()); // forwarding was turned off meanwhile
        };
        let bytes = self.build(&reply, &to).await?;
        let Some(relay) = &self.relay else {
            tracing::warn!(
                "SMTP bridge: replies are forwarded, but TIEDOKSI_SMTP_RELAY is not set"
            );
            return Ok(());
        };
        relay
            .send_from(Some(&self.from), &to, &bytes)
            .await
            .map_err(retryable)
    }

    async fn gave_up(&self, job: &Job, error: &str) {
        tracing::error!(reply = %job.subject_id, %error, "SMTP bridge: could not forward a citizen's message");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_found_by_their_thread() {
        let thread = vec![
            "<abc@kunta.fi>".to_string(),
            "<suomifi-900001@localhost>".to_string(),
        ];
        assert_eq!(answered_message_id(&thread), Some(900001));
        assert_eq!(answered_message_id(&["<x@y>".to_string()]), None);
    }

    #[test]
    fn the_details_block_is_stripped_also_when_quoted() {
        let answer = "Kiitos viestistä, päätös on lainvoimainen.\n\n\
                      > Voinko hakea oikaisua?\n\
                      > \n\
                      > -- \n\
                      > Viestin tiedot\n\
                      > Lähettäjä: Maija Meikäläinen\n\
                      > Henkilötunnus: 311299-047R\n\
                      > Suomi.fi-viestin tunnus: 900001\n\
                      > Lähetetty: 30.11.2026 9.15\n\
                      \n\
                      Terveisin Kirjaamo";
        let stripped = without_details(answer);
        assert!(!stripped.contains("311299-047R"), "{stripped}");
        assert!(!stripped.contains("Viestin tiedot"));
        assert!(stripped.contains("Voinko hakea oikaisua?"));
        assert!(stripped.ends_with("Terveisin Kirjaamo"));
    }
}
