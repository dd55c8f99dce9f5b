//! The platform's own mail — one-time codes, platform-sent notifications, reply notices,
//! password resets — queued in the database (`store::notifications`) and delivered by a
//! worker on every node over SMTP (lettre; STARTTLS or implicit TLS, optional
//! authentication).
//!
//! Delivery is at least once: a claimed row is leased, and a node that dies mid-send leaves
//! the lease to expire for another to take over. Each mail's Message-ID is its idempotency
//! key, so the rare copy sent again after such a crash is the same message to every MTA and
//! mail client. A node that is stopped rather than killed sends no copy: it claims nothing
//! from the start of its drain and never cuts off a mail it is sending ([`Worker`]).
//! Transient failures (relay down, 4xx) are retried with exponential backoff; permanent
//! refusals (5xx, an address that cannot be a recipient) and mails that used up their
//! attempts are dead-lettered for admins (`sealpost-platform admin notifications`).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;
use crate::db::{Db, now_ms};
use crate::state::AppState;
use crate::store::notifications::{self, Claimed, Outgoing};
use crate::store::relays::{self, RelaySettings};

/// How long a claimed mail is reserved for the node that claimed it.
const LEASE_MS: i64 = 120_000;
/// Mails claimed at once.
const BATCH: i64 = 16;
/// How often an idle worker looks for due mail.
const POLL: Duration = Duration::from_millis(500);
/// The longest wait between two attempts.
const MAX_RETRY_DELAY_MS: u64 = 3_600_000;
/// How long a tenant's relay settings are used before they are read again.
const TENANT_RELAY_CACHE: Duration = Duration::from_secs(60);
/// When no relay is configured for a mail, it is looked at again this much later.
const NO_RELAY_RETRY_MS: i64 = 60_000;
const NO_RELAY: &str = "no SMTP relay is configured (smtp_host, or the tenant's relay)";
/// The SMTP dialogue's time limit per command.
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a delivery failed.
#[derive(Debug)]
pub enum Failure {
    /// Worth trying again later (the relay is unreachable, a 4xx reply).
    Transient(String),
    /// Trying again cannot help (a 5xx reply, an impossible address).
    Permanent(String),
}

/// A relay, ready to send through.
#[derive(Clone)]
pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Relay {
    /// The global relay from the settings; `None` when no `smtp_host` is set.
    pub fn from_settings(s: &Settings) -> Result<Option<Relay>, String> {
        let Some(host) = &s.smtp_host else {
            return Ok(None);
        };
        let settings = RelaySettings {
            host: host.clone(),
            port: s.smtp_port,
            security: s.smtp_security.clone(),
            username: s.smtp_username.clone(),
            password: s.smtp_password.clone(),
            from: s.smtp_from.clone(),
        };
        Relay::new(&settings, s.smtp_ca_file.as_deref()).map(Some)
    }

    /// A relay from its settings, trusting the OS's roots and `ca_file` when given.
    pub fn new(r: &RelaySettings, ca_file: Option<&Path>) -> Result<Relay, String> {
        let from: Mailbox =
            r.from.parse().map_err(|e| format!("relay sender {:?}: {e}", r.from))?;
        let tls = || -> Result<TlsParameters, String> {
            let mut params = TlsParameters::builder(r.host.clone());
            if let Some(path) = ca_file {
                let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                let cert =
                    Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
                params = params.add_root_certificate(cert);
            }
            params.build_rustls().map_err(|e| format!("SMTP TLS settings: {e}"))
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(r.host.as_str());
        let builder = match r.security.as_str() {
            "tls" => builder.tls(Tls::Wrapper(tls()?)),
            "starttls" => builder.tls(Tls::Required(tls()?)),
            "none" => builder,
            other => return Err(format!("relay security {other:?}: use starttls, tls or none")),
        };
        let mut builder = builder.port(r.port).timeout(Some(SMTP_TIMEOUT));
        if let Some(user) = &r.username {
            let password = r.password.as_ref().map(|p| p.0.clone()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Relay { transport: builder.build(), from })
    }

    /// The same relay, its mail's sender shown as `name` (the address stays the relay's).
    fn named(mut self, name: &str) -> Relay {
        // The platform's name first: an organisation cannot make its mail pass for someone
        // else's by choosing its display name.
        self.from = Mailbox::new(Some(format!("Sealpost for {name}")), self.from.email.clone());
        self
    }

    /// Hands `mail` to the relay.
    pub async fn send(&self, mail: &Outgoing) -> Result<(), Failure> {
        let message = compose(&self.from, mail)?;
        self.transport.send(message).await.map(drop).map_err(|e| {
            if e.is_permanent() {
                Failure::Permanent(e.to_string())
            } else {
                Failure::Transient(e.to_string())
            }
        })
    }
}

/// The mail as it goes out: `text/plain`, or `multipart/alternative` with HTML; the
/// Message-ID derived from the idempotency key.
pub fn compose(from: &Mailbox, mail: &Outgoing) -> Result<Message, Failure> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e| Failure::Permanent(format!("recipient {:?}: {e}", mail.recipient)))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .message_id(Some(format!("<{}@sealpost.notification>", mail.key)));
    let built = match &mail.html {
        Some(html) => {
            builder.multipart(MultiPart::alternative_plain_html(mail.text.clone(), html.clone()))
        }
        None => builder.singlepart(SinglePart::plain(mail.text.clone())),
    };
    built.map_err(|e| Failure::Permanent(format!("cannot build the mail: {e}")))
}

/// The wait before attempt `attempt + 1`: `base`, doubled per attempt, at most an hour.
pub fn retry_delay_ms(base_ms: u64, attempt: i64) -> u64 {
    let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(u32::MAX).min(32);
    base_ms.saturating_mul(1u64 << doublings.min(31)).min(MAX_RETRY_DELAY_MS)
}

/// Which relay each mail goes through: its tenant's own, else the global one (with the
/// tenant's display name as the sender's name when it is branded). Tenants' relays are read
/// from the database at most once a minute, by each node's worker for
/// itself: a relay an admin changes is used by every node within [`TENANT_RELAY_CACHE`] (a
/// mail sent meanwhile through the old relay still goes out, or is retried).
struct Relays {
    state: AppState,
    global: Option<Relay>,
    tenants: HashMap<i64, (Instant, Option<Relay>)>,
}

impl Relays {
    async fn for_tenant(&mut self, tenant: Option<i64>) -> Result<Option<Relay>, String> {
        let Some(id) = tenant else {
            return Ok(self.global.clone());
        };
        let own = match self.tenants.get(&id) {
            Some((at, relay)) if at.elapsed() < TENANT_RELAY_CACHE => relay.clone(),
            _ => {
                let ca = self.state.settings.smtp_ca_file.as_deref();
                let stored = relays::get(&self.state.db, &self.state.master, id)
                    .await
                    .map_err(|e| e.to_string())?;
                let relay = match stored {
                    Some(r) => Some(Relay::new(&r, ca)?),
                    None => None,
                };
                self.tenants.insert(id, (Instant::now(), relay.clone()));
                relay
            }
        };
        if own.is_some() {
            return Ok(own);
        }
        // The platform's relay, its mail in the organisation's name when it has one (read for
        // each mail, one indexed row: a changed name is used from the next mail on).
        let brand =
            crate::store::branding::get(&self.state.db, id).await.map_err(|e| e.to_string())?;
        Ok(match (self.global.clone(), brand) {
            (Some(global), Some(b)) => Some(global.named(&b.display_name)),
            (global, _) => global,
        })
    }
}

/// Where a node's delivery worker is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Claiming due mail and sending it.
    Claiming,
    /// The node is draining: claim nothing more, go on sending the mail already claimed.
    Draining,
    /// The node has stopped serving: finish the mail being sent, hand the rest back, exit.
    Stopping,
}

/// A node's delivery worker, which the node's shutdown stops in two steps
/// (`startup::Running::drain_and_stop`), so that a mail is never cut off in the middle of
/// its SMTP dialogue — the relay may already have it, and another node would send it again
/// after the lease (the same Message-ID, but a second copy all the same):
///
/// 1. [`Worker::stop_claiming`] when the drain begins: no new mail is claimed; the mail
///    already claimed goes on being sent while the node serves its last requests.
/// 2. [`Worker::finish`] once the node has stopped serving: the mail being sent is sent to
///    the end; claimed mail not started yet is handed back (`notifications::hand_back`), due
///    at once for the other nodes rather than after its lease.
#[derive(Debug)]
pub struct Worker {
    phase: tokio::sync::watch::Sender<Phase>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Claims no more mail; what is claimed is still sent.
    pub fn stop_claiming(&self) {
        self.phase.send_if_modified(|p| {
            let changed = *p == Phase::Claiming;
            if changed {
                *p = Phase::Draining;
            }
            changed
        });
    }

    /// Finishes the mail being sent, hands the rest back and waits for the worker to end, at
    /// most `within` (a relay that hangs keeps its mail's lease: at least once, as after a
    /// crash). Whether it ended.
    pub async fn finish(self, within: Duration) -> bool {
        self.phase.send_replace(Phase::Stopping);
        tokio::time::timeout(within, self.task).await.is_ok()
    }
}

/// Starts the delivery worker (one per node; nodes share the queue).
pub fn spawn(state: AppState) -> Result<Worker, String> {
    let global = Relay::from_settings(&state.settings)?;
    let (phase, mut watch) = tokio::sync::watch::channel(Phase::Claiming);
    let task = tokio::spawn(async move {
        let db = state.db.clone();
        let mut delivery = Delivery {
            max_attempts: state.settings.notify_max_attempts,
            base_ms: state.settings.notify_retry_base_ms,
            relays: Relays { state, global, tenants: HashMap::new() },
        };
        while *watch.borrow() == Phase::Claiming {
            let master = &delivery.relays.state.master;
            match notifications::claim(&db, master, BATCH, LEASE_MS).await {
                Ok(batch) if batch.is_empty() => idle(&mut watch, POLL).await,
                Ok(batch) => {
                    let mut held = batch.into_iter();
                    while let Some(claimed) = held.next() {
                        if *watch.borrow() == Phase::Stopping {
                            for c in std::iter::once(claimed).chain(held.by_ref()) {
                                if let Err(e) = notifications::hand_back(&db, &c).await {
                                    tracing::warn!(id = c.id, error = %e, "cannot hand back a claimed mail; it waits for its lease");
                                }
                            }
                            break;
                        }
                        delivery.send(&db, &claimed).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the notification queue");
                    idle(&mut watch, POLL * 10).await;
                }
            }
        }
    });
    Ok(Worker { phase, task })
}

/// Waits `how_long`, or less when the worker is told to stop.
async fn idle(watch: &mut tokio::sync::watch::Receiver<Phase>, how_long: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(how_long) => {}
        // An error: the node's handle is gone (a test that keeps no `Running`); just wait.
        Ok(()) = watch.changed() => {}
    }
}

/// Whose relay `mail` goes through: its tenant's, except mail that carries a credential,
/// which only ever goes through the platform's own (`notifications::CREDENTIAL_KINDS`).
fn relay_owner(mail: &Outgoing) -> Option<i64> {
    mail.tenant_id.filter(|_| !notifications::carries_credential(&mail.kind))
}

/// What the worker needs to send one claimed mail.
struct Delivery {
    relays: Relays,
    max_attempts: u32,
    base_ms: u64,
}

impl Delivery {
    /// Sends `claimed` through its relay and settles its row; with no relay, postpones it.
    async fn send(&mut self, db: &Db, claimed: &Claimed) {
        match self.relays.for_tenant(relay_owner(&claimed.mail)).await {
            Ok(Some(relay)) => {
                deliver(db, &relay, claimed, self.max_attempts, self.base_ms).await;
            }
            Ok(None) => {
                let later = now_ms() + NO_RELAY_RETRY_MS;
                let _ = notifications::postpone(db, claimed, later, NO_RELAY).await;
            }
            Err(e) => {
                tracing::warn!(id = claimed.id, error = %e, "tenant relay unusable");
                let later = now_ms() + NO_RELAY_RETRY_MS;
                let _ = notifications::postpone(db, claimed, later, &e).await;
            }
        }
    }
}

async fn deliver(db: &Db, relay: &Relay, c: &Claimed, max_attempts: u32, base_ms: u64) {
    let outcome = relay.send(&c.mail).await;
    let settled = match &outcome {
        Ok(()) => {
            metrics::counter!("sealpost_notifications_sent_total").increment(1);
            notifications::mark_sent(db, c).await
        }
        Err(Failure::Transient(e)) if c.attempt < i64::from(max_attempts) => {
            let next = now_ms() + retry_delay_ms(base_ms, c.attempt) as i64;
            tracing::info!(id = c.id, attempt = c.attempt, error = %e, "notification delivery failed; will retry");
            notifications::mark_retry(db, c, next, e).await
        }
        Err(Failure::Transient(e) | Failure::Permanent(e)) => {
            metrics::counter!("sealpost_notifications_dead_total").increment(1);
            tracing::warn!(id = c.id, attempt = c.attempt, error = %e, "notification dead-lettered");
            notifications::mark_dead(db, c, e).await
        }
    };
    match settled {
        Ok(true) => {}
        Ok(false) => tracing::warn!(id = c.id, "notification lease expired before it was settled"),
        Err(e) => tracing::warn!(id = c.id, error = %e, "cannot record a notification's delivery"),
    }
}

/// Mails every recipient of finalised message `m` (To, Cc and Bcc, one mail each) its own
/// personal link, when the tenant's policy has the platform send the notifications. The
/// mail says what the tenant's stub says, without the sender's address or anything of the
/// message — not even the subject, whatever the policy lets the sender's own stub show.
///
/// Idempotent: called again (a retried finalise), each recipient keeps their link and their
/// mail is queued once.
pub async fn announce(
    state: &AppState,
    m: &crate::store::messages::MessageRow,
    policy: &sealpost_policy::Policy,
) -> Result<(), crate::store::StoreError> {
    use crate::store::messages;
    let recipients = messages::recipients(&state.db, &m.id).await?;
    let links = messages::recipient_links(&state.db, &m.id).await?;
    let policy = sealpost_policy::Policy { stub_keeps_subject: false, ..policy.clone() };
    let brand = crate::store::branding::get(&state.db, m.tenant_id).await?;
    for (n, (email, _)) in recipients.iter().enumerate() {
        let token = match links.get(email) {
            Some(token) => token.clone(),
            None => {
                let token = crate::blob::BlobStore::new_name();
                messages::add_recipient_link(&state.db, &m.id, email, &token).await?;
                token
            }
        };
        let link = format!("{}/m/{token}", state.public_url);
        let stub = crate::stub::build(&policy, brand.as_ref(), &m.subject, None, &link);
        let mail = Outgoing {
            key: format!("notice-{}-{n}", m.id),
            tenant_id: Some(m.tenant_id),
            kind: "message_link".into(),
            recipient: email.clone(),
            subject: stub.subject,
            text: stub.text,
            html: Some(stub.html),
        };
        if notifications::enqueue(&state.db, &state.master, &mail).await? {
            messages::add_event(&state.db, &m.id, Some(email), "notified").await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        assert_eq!(retry_delay_ms(30_000, 1), 30_000);
        assert_eq!(retry_delay_ms(30_000, 2), 60_000);
        assert_eq!(retry_delay_ms(30_000, 4), 240_000);
        assert_eq!(retry_delay_ms(30_000, 50), MAX_RETRY_DELAY_MS);
        assert_eq!(retry_delay_ms(u64::MAX, 3), MAX_RETRY_DELAY_MS);
    }

    #[test]
    fn the_message_id_is_the_idempotency_key() {
        let from: Mailbox = "Sealpost <no-reply@sealpost.localhost>".parse().expect("from");
        let mail = Outgoing {
            key: "k-123".into(),
            tenant_id: None,
            kind: "test".into(),
            recipient: "bob@outside.example".into(),
            subject: "Your code".into(),
            text: "123456".into(),
            html: Some("<p>123456</p>".into()),
        };
        let raw =
            String::from_utf8(compose(&from, &mail).expect("mail").formatted()).expect("utf-8");
        assert!(raw.contains("Message-ID: <k-123@sealpost.notification>"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        // Codes and set-password links never go through an organisation's own relay.
        for (kind, owner) in
            [("one_time_code", None), ("password_link", None), ("message_link", Some(7))]
        {
            let theirs = Outgoing { kind: kind.into(), tenant_id: Some(7), ..mail.clone() };
            assert_eq!(super::relay_owner(&theirs), owner, "{kind}");
        }
        let bad = Outgoing { recipient: "not an address".into(), ..mail };
        assert!(matches!(compose(&from, &bad), Err(Failure::Permanent(_))));
    }
}
