//! The platform's outgoing mail queue, with the real binary and a real SMTP server (aiosmtpd,
//! `scripts/smtp-sink.py`): a relay that is down for a while gets every mail exactly once when
//! it comes back; a permanent refusal is dead-lettered and shown to admins; two platform
//! processes on one database share the queue without sending anything twice; a tenant's own
//! relay carries that tenant's mail; a node told to stop claims nothing more, never cuts off
//! a mail it is sending, and hands back the mail it holds.
//!
//! Runs on SQLite, or on PostgreSQL when `SEALPOST_TEST_DATABASE_URL` is set.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use sealpost_platform::db::Db;
use sealpost_platform::store::notifications::{self, Outgoing};
use support::{Server, Sink, admin, free_port, tag, test_database, wait_for};

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_down_for_a_while_gets_every_mail_exactly_once_and_refusals_are_dead_lettered() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let database = test_database(&data).await;
    let admin = |args: &[&str]| admin(&data, &database, args);
    let smtp_port = free_port();
    let tag = tag();
    let _server = Server::start(&data, &database, Some(smtp_port));
    for i in 0..5 {
        admin(&["test-mail", "--to", &format!("user{i}-{tag}@relay.example")]);
    }
    admin(&["test-mail", "--to", &format!("reject-{tag}@relay.example")]);

    // The relay is down: every mail is tried, fails, and stays queued with the reason.
    let ours = |listing: &str| -> Vec<String> {
        listing.lines().filter(|l| l.contains(&tag)).map(str::to_string).collect()
    };
    wait_for("failed attempts", Duration::from_secs(20), || {
        let rows = ours(&admin(&["notifications", "--state", "queued"]));
        (rows.len() == 6 && rows.iter().all(|r| r.contains("onnection refused"))).then_some(())
    });

    // The relay comes back: each mail arrives once; the refused one is dead-lettered.
    let sink = Sink::start(smtp_port, &dir.path().join("sink"));
    wait_for("five mails at the sink", Duration::from_secs(30), || {
        (sink.received(&tag).len() >= 5).then_some(())
    });
    let dead = wait_for("the refusal dead-lettered", Duration::from_secs(30), || {
        let rows = ours(&admin(&["notifications", "--state", "dead"]));
        (!rows.is_empty()).then_some(rows)
    });
    assert_eq!(dead.len(), 1);
    assert!(dead[0].contains(&format!("reject-{tag}@relay.example")) && dead[0].contains("550"));
    std::thread::sleep(Duration::from_secs(2));
    let ids = sink.received(&tag);
    assert_eq!(ids.len(), 5, "no mail twice: {ids:?}");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 5);
    assert_eq!(ours(&admin(&["notifications", "--state", "sent"])).len(), 5);

    // No body was ever readable in the queue: queued ones sealed, sent ones wiped.
    let db = Db::connect(&database).await.expect("db");
    let bodies: Vec<(String,)> =
        db.fetch_all("SELECT body_text FROM notifications", &[]).await.expect("bodies");
    assert!(!bodies.is_empty());
    for (body,) in bodies {
        assert!(!body.contains("test of the Sealpost"), "a readable body in the queue: {body}");
    }
}

/// The master key of the platform whose data folder is `data` (the one it generated).
fn master_key(data: &std::path::Path) -> sealpost_platform::secrets::SealingKey {
    let (key, created) =
        sealpost_platform::secrets::load_master_key(None, &data.join("master.key")).expect("key");
    assert!(!created, "the platform made its key first");
    key
}

#[tokio::test(flavor = "multi_thread")]
async fn two_platform_processes_share_the_queue_without_sending_twice() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let smtp_port = free_port();
    let tag = tag();
    let database = test_database(&data).await;
    let sink = Sink::start(smtp_port, &dir.path().join("sink"));
    // Two nodes on one database (and one master key, as nodes of one deployment have).
    let _a = Server::start(&data, &database, Some(smtp_port));
    let _b = Server::start(&data, &database, Some(smtp_port));
    let db = Db::connect(&database).await.expect("db");
    let master = master_key(&data);
    const MAILS: usize = 40;
    for i in 0..MAILS {
        let mail = Outgoing {
            key: format!("{tag}-{i}"),
            tenant_id: None,
            kind: "test".into(),
            recipient: format!("user{i}-{tag}@relay.example"),
            subject: format!("Mail {i}"),
            text: "Hello".into(),
            html: None,
        };
        assert!(notifications::enqueue(&db, &master, &mail).await.expect("enqueue"));
        let again = notifications::enqueue(&db, &master, &mail).await.expect("again");
        assert!(!again, "the key is unique");
    }
    wait_for("every mail at the sink", Duration::from_secs(60), || {
        (sink.received(&tag).len() >= MAILS).then_some(())
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ids = sink.received(&tag);
    assert_eq!(ids.len(), MAILS, "no mail sent twice");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), MAILS);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_own_relay_carries_its_mail_and_mail_without_a_relay_waits() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let database = test_database(&data).await;
    let admin = |args: &[&str]| admin(&data, &database, args);
    let smtp_port = free_port();
    let tag = tag();
    let sink = Sink::start(smtp_port, &dir.path().join("sink"));
    let _server = Server::start(&data, &database, None); // no global relay
    admin(&["create-tenant", "--name", "acme", "--domain", "acme.example"]);
    let port = smtp_port.to_string();
    admin(&[
        "set-relay",
        "--tenant",
        "acme",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--security",
        "none",
        "--from",
        "Acme secure mail <secure@acme.example>",
    ]);
    admin(&["test-mail", "--tenant", "acme", "--to", &format!("user-{tag}@relay.example")]);
    admin(&["test-mail", "--to", &format!("nobody-{tag}@relay.example")]);

    wait_for("the tenant's mail", Duration::from_secs(30), || {
        (!sink.received(&tag).is_empty()).then_some(())
    });
    let mail = std::fs::read_dir(&sink.out)
        .expect("sink")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .find(|m| m.contains(&format!("user-{tag}")))
        .expect("the tenant's mail");
    assert!(mail.contains("From: \"Acme secure mail\" <secure@acme.example>"), "{mail}");
    let waiting = wait_for("the other mail to wait for a relay", Duration::from_secs(20), || {
        admin(&["notifications", "--state", "queued"])
            .lines()
            .find(|l| l.contains(&format!("nobody-{tag}")) && l.contains("no SMTP relay"))
            .map(str::to_string)
    });
    assert!(waiting.split_whitespace().nth(2) == Some("0"), "no attempt counted: {waiting}");
    assert_eq!(sink.received(&tag).len(), 1);
}

/// Our mails in the queue as `admin notifications` lists them: (state, attempts, recipient).
fn queue_of(data: &std::path::Path, database: &str, tag: &str) -> Vec<(String, i64, String)> {
    admin(data, database, &["notifications", "--limit", "1000"])
        .lines()
        .filter(|l| l.contains(tag))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1].to_string(), f[2].parse().expect("attempts"), f[4].to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_told_to_stop_claims_no_more_mail_sends_the_one_in_hand_and_hands_back_the_rest() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let database = test_database(&data).await;
    let admin = |args: &[&str]| admin(&data, &database, args);
    let smtp_port = free_port();
    let tag = tag();
    let sink = Sink::start(smtp_port, &dir.path().join("sink"));
    let mail_to = |who: &str| format!("{who}-{tag}@relay.example");
    // The sink marks a "slow…" mail while it takes it in (two seconds).
    let being_sent = |who: &str| sink.out.join("receiving").join(mail_to(who)).exists();

    // 1. Draining: a mail queued after SIGTERM is not this node's to claim, even once the
    //    mail it was sending is done and the node still serves.
    let drain = [("SEALPOST_DRAIN_SECS", "4")];
    let mut server = Server::start_with(free_port(), &data, &database, Some(smtp_port), &drain);
    let http = support::client(&data, false);
    let readyz = |server: &Server| {
        let url = format!("https://localhost:{}/readyz", server.port);
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current()
                .block_on(async { http.get(&url).send().await.ok().map(|r| r.status()) })
        })
    };
    admin(&["test-mail", "--to", &mail_to("slow-a")]);
    wait_for("the mail being sent", Duration::from_secs(20), || being_sent("slow-a").then_some(()));
    server.terminate();
    wait_for("the drain to begin", Duration::from_secs(5), || {
        (readyz(&server) == Some(reqwest::StatusCode::SERVICE_UNAVAILABLE)).then_some(())
    });
    admin(&["test-mail", "--to", &mail_to("during-drain")]);
    assert_eq!(
        readyz(&server),
        Some(reqwest::StatusCode::SERVICE_UNAVAILABLE),
        "the node still serves (draining) with the new mail due"
    );
    let status = server.exited_within(Duration::from_secs(30)).expect("it exits after the drain");
    assert!(status.success(), "a clean exit: {status:?}");
    let queue = queue_of(&data, &database, &tag);
    assert!(queue.contains(&("sent".into(), 1, mail_to("slow-a"))), "{queue:?}");
    assert!(queue.contains(&("queued".into(), 0, mail_to("during-drain"))), "{queue:?}");

    // 2. Stopped without a drain while it holds a batch: the mail being sent is sent to the
    //    end; the others are handed back unattempted, none left waiting out its lease.
    for who in ["slow-b", "slow-c", "slow-d"] {
        admin(&["test-mail", "--to", &mail_to(who)]);
    }
    let no_drain = [("SEALPOST_DRAIN_SECS", "0")];
    let mut server = Server::start_with(free_port(), &data, &database, Some(smtp_port), &no_drain);
    let first = wait_for("a mail being sent", Duration::from_secs(20), || {
        ["slow-b", "slow-c", "slow-d"].into_iter().find(|who| being_sent(who))
    });
    server.terminate();
    let status = server.exited_within(Duration::from_secs(30)).expect("it exits");
    assert!(status.success(), "a clean exit: {status:?}");
    let queue = queue_of(&data, &database, &tag);
    assert!(queue.contains(&("sent".into(), 1, mail_to(first))), "{queue:?}");
    let leased: Vec<_> = queue.iter().filter(|(state, n, _)| state == "queued" && *n > 0).collect();
    assert!(leased.is_empty(), "no mail left under a stopped node's lease: {queue:?}");
    assert!(queue.iter().any(|(state, ..)| state == "queued"), "some were handed back: {queue:?}");

    // Another node sends what was handed back at once (not after the two-minute lease), and
    // every mail arrives exactly once.
    let _server = Server::start(&data, &database, Some(smtp_port));
    wait_for("every mail sent", Duration::from_secs(60), || {
        let queue = queue_of(&data, &database, &tag);
        (queue.len() == 5 && queue.iter().all(|(state, ..)| state == "sent")).then_some(())
    });
    let ids = sink.received(&tag);
    assert_eq!(ids.len(), 5, "each mail once: {ids:?}");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 5);
}
