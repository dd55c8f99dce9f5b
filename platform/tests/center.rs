//! The Secure Message Center's first contact over real HTTPS with the real binary, a real
//! SMTP sink for the one-time codes, and a client that keeps cookies as a browser does: the
//! link, the address, the code by mail (wrong codes lock it), the session, the message read
//! (sanitised), the security headers, an unlock code, a reply with an attachment, filing in the
//! archive, and recall — on SQLite and, in the PostgreSQL suite, on PostgreSQL.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, Sink, client, free_port, test_database, wait_for};

const SENDER: &str = "admin@sealpost.localhost";

/// A finalised message from the bootstrap admin to bob (and carol in Bcc); its link, id and
/// the sender's token.
async fn send_message(
    base: &str,
    http: &reqwest::Client,
    password: &str,
) -> (String, String, String) {
    let token = support::sign_in(http, base, SENDER, password).await;
    let (link, id) = send_as(base, http, &token, SENDER, "Quarterly figures").await;
    (link, id, token)
}

/// A finalised message from `from` (signed in with `token`) to bob and carol (Bcc), with
/// `subject`; its link and id.
async fn send_as(
    base: &str,
    http: &reqwest::Client,
    token: &str,
    from: &str,
    subject: &str,
) -> (String, String) {
    let html = r#"<p>MARKER-HTML figures</p><script>document.title='pwned'</script><img src="https://tracker.example/p.gif">"#;
    send_html(base, http, token, from, subject, html).await
}

/// [`send_as`] with `html` as the HTML body.
async fn send_html(
    base: &str,
    http: &reqwest::Client,
    token: &str,
    from: &str,
    subject: &str,
    html: &str,
) -> (String, String) {
    let key = support::platform_key(http, base).await;
    let draft = support::Draft {
        from,
        to: &["bob@outside.example"],
        bcc: &["carol@acme.example"],
        subject,
        text: "MARKER-TEXT figures".into(),
        html: Some(html.into()),
        attachment: ("figures März.csv", "text/csv", attachment_bytes()),
    };
    let support::TestMessage { id, envelope, slip, .. } = support::TestMessage::seal(&key, draft);
    let r = http
        .post(format!("{base}/api/v1/messages"))
        .bearer_auth(token)
        .json(&slip)
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = http
        .patch(format!("{base}/api/v1/messages/{id}/envelope"))
        .bearer_auth(token)
        .header("Upload-Offset", "0")
        .body(envelope)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = http
        .post(format!("{base}/api/v1/messages/{id}/finalise"))
        .bearer_auth(token)
        .send()
        .await
        .expect("finalise")
        .json()
        .await
        .expect("json");
    let link = done["link"].as_str().expect("link").to_string();
    (link, id.to_string())
}

/// Message `id`'s delivery slip, as its sender (signed in with `token`) sees it.
async fn slip_of(api: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    let r = api.get(format!("{base}/api/v1/messages/{id}")).bearer_auth(token).send().await;
    r.expect("slip").json().await.expect("json")
}

/// The attachment: 5 MB that cross several chunks and two read windows.
fn attachment_bytes() -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..5_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The value of the form's CSRF field.
fn csrf(page: &str) -> String {
    let at =
        page.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    page[at..].split('"').next().expect("value").to_string()
}

/// The six-digit code in the newest mail to `to`.
fn code_mailed_to(sink: &Sink, to: &str, count: usize) -> String {
    let mails = wait_for("the code by mail", Duration::from_secs(20), || {
        let m = sink.received(to);
        (m.len() >= count).then_some(m)
    });
    assert_eq!(mails.len(), count);
    let mut texts: Vec<(std::path::PathBuf, String)> = std::fs::read_dir(&sink.out)
        .expect("sink")
        .flatten()
        .map(|e| (e.path(), std::fs::read_to_string(e.path()).unwrap_or_default()))
        .filter(|(_, t)| t.contains(&format!("To: {to}")))
        .collect();
    texts.sort();
    let text = &texts.last().expect("mail").1;
    assert!(!text.contains("http"), "no link in the code mail: {text}");
    assert!(!text.contains(SENDER), "no address but the recipient's: {text}");
    let line = text.lines().find(|l| l.starts_with("Your code")).expect("the code line");
    line.rsplit(' ').next().expect("code").trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recipient_proves_the_mailbox_with_a_mailed_code_and_reads_the_message() {
    let Running { dir: _dir, data, sink, server: _server, base, api, password, .. } =
        Running::start().await;
    let (link, id, token) = send_message(&base, &api, &password).await;
    assert!(link.starts_with(&format!("{base}/m/")), "{link}");
    let opaque = link.rsplit('/').next().expect("token").to_string();

    // The link bounces to a same-site page that asks for the address.
    let browser = client(&data, true);
    let bounce = browser.get(&link).send().await.expect("link");
    assert_eq!(bounce.status(), StatusCode::OK);
    assert!(bounce.text().await.expect("text").contains(&format!("/c/open/{opaque}")));
    let open = browser.get(format!("{base}/c/open/{opaque}")).send().await.expect("open");
    let csp = open.headers()["content-security-policy"].to_str().expect("csp").to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "no script may run: {csp}");
    // Inline styles in attributes only (a message's allow-listed formatting), no <style>.
    assert!(csp.contains("style-src 'self';") && csp.contains("style-src-attr 'unsafe-inline'"));
    let set_cookie = open.headers()["set-cookie"].to_str().expect("cookie").to_string();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "__Host-"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    let page = open.text().await.expect("page");
    assert!(page.contains("confirm the email address"));
    let token_csrf = csrf(&page);

    // A form without the CSRF token is refused.
    let r = browser
        .post(format!("{base}/m/{opaque}/code"))
        .form(&[("csrf", "forged"), ("email", "bob@outside.example")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Someone who did not receive it sees the same page, and no code is sent.
    let r = browser
        .post(format!("{base}/m/{opaque}/code"))
        .form(&[("csrf", token_csrf.as_str()), ("email", "eve@outside.example")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("page").contains("Enter your code"));

    // Bob asks for a code; five wrong tries use it up.
    let ask = |email: &'static str| {
        browser
            .post(format!("{base}/m/{opaque}/code"))
            .form(&[("csrf", token_csrf.clone()), ("email", email.to_string())])
            .send()
    };
    assert_eq!(ask("bob@outside.example").await.expect("post").status(), StatusCode::OK);
    let code = code_mailed_to(&sink, "bob@outside.example", 1);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let verify = |code: String| {
        browser
            .post(format!("{base}/m/{opaque}/verify"))
            .form(&[
                ("csrf", token_csrf.clone()),
                ("email", "bob@outside.example".into()),
                ("code", code),
            ])
            .send()
    };
    for _ in 0..5 {
        assert_eq!(verify(wrong.into()).await.expect("post").status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        verify(code).await.expect("post").status(),
        StatusCode::UNAUTHORIZED,
        "locked after five"
    );
    assert!(sink.received("eve@outside.example").is_empty(), "no code for a stranger");

    // A new code opens the message.
    ask("bob@outside.example").await.expect("post");
    let code = code_mailed_to(&sink, "bob@outside.example", 2);
    let choose = verify(code.clone()).await.expect("post");
    assert_eq!(choose.url().path(), format!("/c/password/{opaque}"), "first: choose a password");
    let choose_csrf = csrf(&choose.text().await.expect("page"));
    let set_password = |password: &'static str, confirm: &'static str| {
        browser
            .post(format!("{base}/c/password/{opaque}"))
            .form(&[("csrf", choose_csrf.as_str()), ("password", password), ("confirm", confirm)])
            .send()
    };
    let r = set_password("correct horse battery", "correct horse batter").await.expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "the two must match");
    let r = set_password("short", "short").await.expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "at least 12 characters");
    let read = set_password("correct horse battery", "correct horse battery").await.expect("post");
    assert_eq!(read.status(), StatusCode::OK);
    assert!(read.url().path().starts_with("/c/read/"));
    let page = read.text().await.expect("page");
    assert!(page.contains("Quarterly figures") && page.contains("MARKER-HTML figures"));
    assert!(page.contains("figures März.csv"));

    // The attachment downloads decrypted, whole or by byte range.
    let original = attachment_bytes();
    let download = format!("{base}/c/read/{opaque}/attachments/1");
    let whole = browser.get(&download).send().await.expect("download");
    assert_eq!(whole.status(), StatusCode::OK);
    let disposition = whole.headers()["content-disposition"].to_str().expect("header").to_string();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("M%C3%A4rz"),
        "{disposition}"
    );
    assert_eq!(whole.headers()["content-type"], "application/octet-stream");
    assert!(whole.bytes().await.expect("bytes") == original, "the original bytes");
    let part = browser
        .get(&download)
        .header("Range", "bytes=1000000-4999999")
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 1000000-4999999/5000000");
    assert!(part.bytes().await.expect("bytes") == original[1_000_000..]);
    let tail = browser.get(&download).header("Range", "bytes=-10").send().await.expect("tail");
    assert!(tail.bytes().await.expect("bytes") == original[original.len() - 10..]);
    let outside =
        browser.get(&download).header("Range", "bytes=6000000-").send().await.expect("416");
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let r = client(&data, false).get(&download).send().await.expect("no session");
    assert_ne!(r.bytes().await.expect("bytes").len(), original.len(), "nothing without a session");
    assert!(!page.contains("<script>") && !page.contains("pwned"), "script removed");
    assert!(!page.contains("tracker.example"), "no remote content");
    assert!(!page.contains("carol@acme.example"), "Bcc stays hidden");
    assert_eq!(verify(code).await.expect("post").status(), StatusCode::UNAUTHORIZED, "single use");

    // A session that has ended (here: one the server never knew) says so on the way to sign-in.
    let stale = client(&data, false)
        .get(format!("{base}/c/mail/inbox"))
        .header("Cookie", "__Host-sealpost-session=ended-long-ago")
        .send()
        .await
        .expect("inbox");
    assert_eq!(stale.url().path(), "/c/signin");
    assert!(stale.text().await.expect("page").contains("Your session has ended"));

    // Without the session cookie the message is not shown.
    let stranger = client(&data, false);
    let r = stranger.get(format!("{base}/c/read/{opaque}")).send().await.expect("read");
    assert!(!r.text().await.expect("page").contains("MARKER-HTML"));

    // Another day, another browser: the password signs bob in; wrong ones lock it.
    let sign_in = |browser: reqwest::Client, password: &'static str| {
        let (base, opaque) = (base.clone(), opaque.clone());
        async move {
            let page = browser.get(format!("{base}/c/open/{opaque}")).send().await.expect("open");
            let token = csrf(&page.text().await.expect("page"));
            browser
                .post(format!("{base}/m/{opaque}/signin"))
                .form(&[
                    ("csrf", token.as_str()),
                    ("email", "bob@outside.example"),
                    ("password", password),
                ])
                .send()
                .await
                .expect("sign in")
        }
    };
    let later = sign_in(client(&data, true), "correct horse battery").await;
    assert_eq!(later.status(), StatusCode::OK);
    assert!(later.text().await.expect("page").contains("MARKER-HTML figures"));
    let guesser = client(&data, true);
    for _ in 0..4 {
        let r = sign_in(guesser.clone(), "wrong horse battery").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = sign_in(guesser.clone(), "wrong horse battery").await;
    assert!(r.text().await.expect("page").contains("locked"), "locked after five");
    let r = sign_in(guesser, "correct horse battery").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "even the right password while locked");

    // The sender sees that bob opened it.
    let slip = slip_of(&api, &base, &token, &id).await;
    assert!(slip.to_string().contains("opened"), "{slip}");

    // The sender adds an unlock code: bob must give it before reading again.
    let unlock_url = format!("{base}/api/v1/messages/{id}/unlock-code");
    for short in ["x", "12345"] {
        let r = api.put(&unlock_url).bearer_auth(&token).json(&json!({"code": short})).send();
        assert_eq!(r.await.expect("put").status(), StatusCode::BAD_REQUEST, "too short");
    }
    let r = api.put(&unlock_url).bearer_auth(&token).json(&json!({"code": "blue heron 42"}));
    assert_eq!(r.send().await.expect("put").status(), StatusCode::NO_CONTENT);
    let r = browser.get(format!("{base}/c/read/{opaque}")).send().await.expect("read");
    assert_eq!(r.url().path(), format!("/c/unlock/{opaque}"));
    let unlock_csrf = csrf(&r.text().await.expect("page"));
    let unlock = |code: &'static str| {
        browser
            .post(format!("{base}/c/unlock/{opaque}"))
            .form(&[("csrf", unlock_csrf.as_str()), ("code", code)])
            .send()
    };
    let r = unlock("red heron 42").await.expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!r.text().await.expect("page").contains("MARKER"));
    let r = unlock("blue heron 42").await.expect("post");
    assert!(r.text().await.expect("page").contains("MARKER-HTML figures"), "unlocked");

    // Bob replies with an attachment; the sender is told by mail, without content.
    let form = browser.get(format!("{base}/c/reply/{opaque}")).send().await.expect("form");
    let reply_csrf = csrf(&form.text().await.expect("page"));
    let multipart = reqwest::multipart::Form::new()
        .text("csrf", reply_csrf.clone())
        .text("all", "0")
        .text("subject", "Re: Quarterly figures")
        .text("text", "MARKER-REPLY thanks")
        .part("files", reqwest::multipart::Part::bytes(b"signed".to_vec()).file_name("signed.txt"));
    // Refused forms say why and keep what was typed.
    let mut crowded = reqwest::multipart::Form::new()
        .text("csrf", reply_csrf.clone())
        .text("text", "MARKER-KEPT typed text");
    for n in 0..21 {
        crowded = crowded.part(
            "files",
            reqwest::multipart::Part::bytes(vec![b'x'; 10]).file_name(format!("f{n}.txt")),
        );
    }
    let r = browser
        .post(format!("{base}/c/reply/{opaque}"))
        .multipart(crowded)
        .send()
        .await
        .expect("reply");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = r.text().await.expect("page");
    assert!(page.contains("too many attachments") && page.contains("MARKER-KEPT typed text"));
    let forged = reqwest::multipart::Form::new().text("csrf", "forged").text("text", "x");
    let r = browser.post(format!("{base}/c/reply/{opaque}")).multipart(forged).send().await;
    assert_eq!(r.expect("reply").status(), StatusCode::FORBIDDEN);
    let sent = browser
        .post(format!("{base}/c/reply/{opaque}"))
        .multipart(multipart)
        .send()
        .await
        .expect("reply");
    assert_eq!(sent.url().path(), "/c/mail/sent");
    assert!(sent.text().await.expect("page").contains("Re: Quarterly figures"));
    wait_for("the reply notice", Duration::from_secs(20), || {
        (!sink.received(SENDER).is_empty()).then_some(())
    });

    // Filed in the archive, the message leaves the inbox.
    let inbox = |folder: &'static str| {
        let browser = browser.clone();
        let base = base.clone();
        async move {
            let r = browser.get(format!("{base}/c/mail/{folder}")).send().await.expect("folder");
            r.text().await.expect("page")
        }
    };
    let listed = |page: &str| page.contains(&format!("/c/read/{opaque}"));
    assert!(listed(&inbox("inbox").await));
    let mailbox_csrf = csrf(&inbox("inbox").await);
    let r = browser
        .post(format!("{base}/c/file/{opaque}"))
        .form(&[("csrf", mailbox_csrf.as_str()), ("folder", "archive")])
        .send()
        .await
        .expect("file");
    assert!(r.status().is_success());
    assert!(!listed(&inbox("inbox").await) && listed(&inbox("archive").await));

    // Recalled: the page says so and shows nothing else.
    let r = api
        .post(format!("{base}/api/v1/messages/{id}/recall"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("recall");
    assert!(r.status().is_success());
    let r = browser.get(format!("{base}/c/read/{opaque}")).send().await.expect("read");
    assert_eq!(r.status(), StatusCode::GONE);
    let page = r.text().await.expect("page");
    assert!(page.contains("recalled") && !page.contains("MARKER"));
}

/// A platform on a fresh database with its mail going to an SMTP sink, a client that trusts
/// it, and the bootstrap admin's password.
struct Running {
    dir: tempfile::TempDir,
    data: std::path::PathBuf,
    database: String,
    sink: Sink,
    server: Server,
    base: String,
    api: reqwest::Client,
    password: String,
}

impl Running {
    async fn start() -> Running {
        let dir = tempfile::tempdir().expect("tmp");
        let data = dir.path().join("data");
        let database = test_database(&data).await;
        let smtp_port = free_port();
        let sink = Sink::start(smtp_port, &dir.path().join("sink"));
        let server = Server::start(&data, &database, Some(smtp_port));
        let base = format!("https://127.0.0.1:{}", server.port);
        let api = client(&data, false);
        let password = server.bootstrap_password.clone().expect("first start");
        Running { dir, data, database, sink, server, base, api, password }
    }
}

/// The first message link (`/m/<token>`) in a mail's text.
fn link_token_in(mail: &str) -> String {
    let at = mail.find("/m/").expect("a link") + 3;
    mail[at..].chars().take_while(char::is_ascii_hexdigit).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_platform_sends_the_notices_each_recipient_gets_a_personal_link() {
    let Running { dir, data, database, sink, server: _server, base, api, password } =
        Running::start().await;
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"internal_domains": ["sealpost.localhost"], "notification_mode": "platform_sends"}"#,
    )
    .expect("policy");
    let policy = policy.to_string_lossy().into_owned();
    support::admin(&data, &database, &["set-policy", "--tenant", "default", "--file", &policy]);
    let (link, id, token) = send_message(&base, &api, &password).await;

    // To bob and, in Bcc, to carol: one mail each, each with its own link.
    let mails = wait_for("two notices", Duration::from_secs(20), || {
        let m: Vec<String> = std::fs::read_dir(&sink.out)
            .expect("sink")
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| std::fs::read_to_string(e.path()).expect("mail"))
            .collect();
        (m.len() >= 2).then_some(m)
    });
    let to = |who: &str| {
        mails.iter().find(|m| m.contains(&format!("To: {who}"))).expect("a mail").clone()
    };
    let (bob, carol) = (to("bob@outside.example"), to("carol@acme.example"));
    let (bob_token, carol_token) = (link_token_in(&bob), link_token_in(&carol));
    assert_eq!(bob_token.len(), 32);
    assert_ne!(bob_token, carol_token, "personal links");
    assert!(!link.ends_with(&bob_token) && !link.ends_with(&carol_token));
    for mail in [&bob, &carol] {
        assert!(!mail.contains(SENDER), "no sender address in the notice");
        assert!(!mail.contains("Quarterly") && !mail.contains("MARKER"), "no content");
    }
    assert!(!bob.contains("carol@acme.example"), "Bcc stays hidden");

    // A retried finalise says the platform notified, and sends nothing again.
    let again: Value = api
        .post(format!("{base}/api/v1/messages/{id}/finalise"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("finalise")
        .json()
        .await
        .expect("json");
    assert_eq!(again["notified_by_platform"], true);
    std::thread::sleep(Duration::from_secs(2));
    let count = std::fs::read_dir(&sink.out).expect("sink").flatten().count();
    assert_eq!(count, 2, "each notice once");

    // The personal link opens the message's first-contact page; the slip shows the notices.
    let browser = client(&data, true);
    let open = browser.get(format!("{base}/c/open/{bob_token}")).send().await.expect("open");
    assert_eq!(open.status(), StatusCode::OK);
    assert!(open.text().await.expect("page").contains("confirm the email address"));
    let slip: Value = api
        .get(format!("{base}/api/v1/messages/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("slip")
        .json()
        .await
        .expect("json");
    let notified = slip["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "notified")
        .count();
    assert_eq!(notified, 2, "{slip}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recipients_inbox_holds_messages_from_every_tenant_and_nothing_else() {
    let Running { dir: _dir, data, database, sink, server: _server, base, api, password } =
        Running::start().await;
    let admin = |args: &[&str]| support::admin(&data, &database, args);
    admin(&["create-tenant", "--name", "globex", "--domain", "globex.example"]);
    admin(&["create-user", "--tenant", "globex", "--email", "gina@globex.example"]);
    let gina = admin(&["create-token", "--email", "gina@globex.example"]).trim().to_string();

    // Bob gets one message from each tenant.
    let (link, _, _) = send_message(&base, &api, &password).await;
    send_as(&base, &api, &gina, "gina@globex.example", "MARKER-GLOBEX proposal").await;

    // Bob proves his mailbox through the first link and finds both in his inbox.
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let browser = client(&data, true);
    let open = browser.get(format!("{base}/c/open/{opaque}")).send().await.expect("open");
    let token = csrf(&open.text().await.expect("page"));
    browser
        .post(format!("{base}/m/{opaque}/code"))
        .form(&[("csrf", token.as_str()), ("email", "bob@outside.example")])
        .send()
        .await
        .expect("code");
    let code = code_mailed_to(&sink, "bob@outside.example", 1);
    browser
        .post(format!("{base}/m/{opaque}/verify"))
        .form(&[("csrf", token.as_str()), ("email", "bob@outside.example"), ("code", &code)])
        .send()
        .await
        .expect("verify");
    let inbox = browser.get(format!("{base}/c/mail/inbox")).send().await.expect("inbox");
    let inbox = inbox.text().await.expect("page");
    assert!(inbox.contains("Quarterly figures") && inbox.contains("MARKER-GLOBEX proposal"));
    assert!(inbox.contains(SENDER) && inbox.contains("gina@globex.example"));
    let page = |before: i64| {
        let (browser, base) = (browser.clone(), base.clone());
        async move {
            let r = browser.get(format!("{base}/c/mail/inbox?before={before}")).send().await;
            r.expect("inbox").text().await.expect("page")
        }
    };
    assert!(page(1).await.contains("No messages here."), "nothing older than 1970");
    assert!(page(i64::MAX).await.contains("MARKER-GLOBEX"), "a page before the end of time");

    // What bob received is not what he sent.
    let sent = browser.get(format!("{base}/c/mail/sent")).send().await.expect("sent");
    assert!(!sent.text().await.expect("page").contains("MARKER-GLOBEX"), "bob sent nothing");
}

/// A browser session on message `opaque` for `email`, begun with a mailed code (the
/// `count`-th mail to that address), the first password chosen when `password` is given.
async fn code_session(
    r: &Running,
    opaque: &str,
    email: &str,
    count: usize,
    password: Option<&str>,
) -> reqwest::Client {
    let browser = client(&r.data, true);
    let base = &r.base;
    let page = browser.get(format!("{base}/c/open/{opaque}")).send().await.expect("open");
    let token = csrf(&page.text().await.expect("page"));
    let ask = [("csrf", token.as_str()), ("email", email)];
    let asked = browser.post(format!("{base}/m/{opaque}/code")).form(&ask).send().await;
    assert_eq!(asked.expect("ask").status(), StatusCode::OK);
    let code = code_mailed_to(&r.sink, email, count);
    let verify = [("csrf", token.as_str()), ("email", email), ("code", code.as_str())];
    let r2 = browser.post(format!("{base}/m/{opaque}/verify")).form(&verify).send().await;
    let landed = r2.expect("verify");
    if let Some(password) = password {
        assert_eq!(landed.url().path(), format!("/c/password/{opaque}"));
        let set = [("csrf", token.as_str()), ("password", password), ("confirm", password)];
        let r3 = browser.post(format!("{base}/c/password/{opaque}")).form(&set).send().await;
        assert!(r3.expect("password").url().path().starts_with("/c/read/"));
    }
    browser
}

/// A browser signed in with a password (and authenticator code) through message `opaque`;
/// the answer.
async fn password_sign_in(
    r: &Running,
    browser: &reqwest::Client,
    opaque: &str,
    (email, password, totp): (&str, &str, &str),
) -> reqwest::Response {
    let base = &r.base;
    let page = browser.get(format!("{base}/c/open/{opaque}")).send().await.expect("open");
    let token = csrf(&page.text().await.expect("page"));
    let form = [("csrf", token.as_str()), ("email", email), ("password", password), ("totp", totp)];
    browser.post(format!("{base}/m/{opaque}/signin")).form(&form).send().await.expect("sign in")
}

/// A form post with the browser's CSRF token (read from `page_path`).
async fn post_form(
    r: &Running,
    browser: &reqwest::Client,
    page_path: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = browser.get(format!("{}{page_path}", r.base)).send().await.expect("page");
    let token = csrf(&page.text().await.expect("page"));
    let mut form = vec![("csrf", token.as_str())];
    form.extend_from_slice(fields);
    browser.post(format!("{}{action}", r.base)).form(&form).send().await.expect("post")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_borrowed_session_cannot_take_the_account_over() {
    let r = Running::start().await;
    let (link, _id, _token) = send_message(&r.base, &r.api, &r.password).await;
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let bob = "bob@outside.example";
    let owner = code_session(&r, &opaque, bob, 1, Some("correct horse battery")).await;

    // Someone at bob's unlocked computer later: a password session, borrowed.
    let borrowed = client(&r.data, true);
    let signed = password_sign_in(&r, &borrowed, &opaque, (bob, "correct horse battery", "")).await;
    assert!(signed.url().path().starts_with("/c/read/"));
    // The first-password page is not a way round the current password …
    let set = [("password", "evil takeover pw"), ("confirm", "evil takeover pw")];
    let path = format!("/c/open/{opaque}");
    let r1 = post_form(&r, &borrowed, &path, &format!("/c/password/{opaque}"), &set).await;
    assert!(!r1.url().path().starts_with("/c/password/"), "{}", r1.url());
    // … nor are the preferences without it, nor two-step sign-in without it.
    let r2 = post_form(&r, &borrowed, "/c/preferences", "/c/preferences/password", &set).await;
    assert_eq!(r2.status(), StatusCode::BAD_REQUEST);
    let r3 = post_form(&r, &borrowed, "/c/preferences", "/c/preferences/totp/begin", &[]).await;
    assert_eq!(r3.status(), StatusCode::UNAUTHORIZED);
    assert!(!r3.text().await.expect("page").contains("totp-secret"));
    let fresh = client(&r.data, true);
    let still = password_sign_in(&r, &fresh, &opaque, (bob, "correct horse battery", "")).await;
    assert!(still.url().path().starts_with("/c/read/"), "the owner's password still works");

    // The owner changes the password: every other session ends.
    let change = [
        ("current", "correct horse battery"),
        ("password", "a brand new passphrase"),
        ("confirm", "a brand new passphrase"),
    ];
    let r4 = post_form(&r, &owner, "/c/preferences", "/c/preferences/password", &change).await;
    assert_eq!(r4.status(), StatusCode::OK);
    let gone = borrowed.get(format!("{}/c/mail/inbox", r.base)).send().await.expect("inbox");
    assert_eq!(gone.url().path(), "/c/signin", "the borrowed session ended");
    let kept = owner.get(format!("{}/c/mail/inbox", r.base)).send().await.expect("inbox");
    assert_eq!(kept.url().path(), "/c/mail/inbox", "the owner's own session goes on");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_authenticator_code_counts_like_a_wrong_password_and_says_the_same() {
    let r = Running::start().await;
    let (link, _id, _token) = send_message(&r.base, &r.api, &r.password).await;
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let bob = "bob@outside.example";
    let pw = "correct horse battery";
    let owner = code_session(&r, &opaque, bob, 1, Some(pw)).await;
    let begin =
        post_form(&r, &owner, "/c/preferences", "/c/preferences/totp/begin", &[("current", pw)])
            .await;
    let page = begin.text().await.expect("page");
    let at = page.find(r#"id="totp-secret">"#).expect("the key") + r#"id="totp-secret">"#.len();
    let secret = page[at..].split('<').next().expect("secret").to_string();
    let code = sealpost_platform::store::totp::code_at(&secret, 0).expect("code");
    let on =
        post_form(&r, &owner, "/c/preferences", "/c/preferences/totp/confirm", &[("code", &code)])
            .await;
    assert!(on.text().await.expect("page").contains("Two-step sign-in is on."));

    let problem = |page: &str| {
        let at = page.find(r#"class="problem""#).expect("a problem") + 16;
        page[at..].split('<').next().expect("text").to_string()
    };
    let guesser = client(&r.data, true);
    let wrong_totp =
        |n: u32| format!("{:06}", (code.parse::<u32>().expect("digits") + 1 + n) % 1_000_000);
    let first = password_sign_in(&r, &guesser, &opaque, (bob, pw, &wrong_totp(0))).await;
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let said_for_totp = problem(&first.text().await.expect("page"));
    let bad_pw = password_sign_in(&r, &guesser, &opaque, (bob, "wrong horse battery", "")).await;
    assert_eq!(problem(&bad_pw.text().await.expect("page")), said_for_totp, "the same answer");
    for n in 1..4 {
        password_sign_in(&r, &guesser, &opaque, (bob, pw, &wrong_totp(n))).await;
    }
    // Five wrong answers: locked, even with both factors right now.
    let right = sealpost_platform::store::totp::code_at(&secret, 0).expect("code");
    let locked = password_sign_in(&r, &guesser, &opaque, (bob, pw, &right)).await;
    assert_eq!(locked.status(), StatusCode::UNAUTHORIZED);
    assert!(problem(&locked.text().await.expect("page")).contains("locked"));

    // An address nobody has locks the same way, so lockouts tell no one who has an account.
    let nobody = "nobody@outside.example";
    let mut last = String::new();
    for _ in 0..6 {
        let r5 = password_sign_in(&r, &guesser, &opaque, (nobody, pw, "")).await;
        last = problem(&r5.text().await.expect("page"));
    }
    assert!(last.contains("locked"), "{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn code_requests_answer_the_same_for_recipients_and_strangers() {
    let r = Running::start().await;
    let (link, _id, _token) = send_message(&r.base, &r.api, &r.password).await;
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let browser = client(&r.data, true);
    let page = browser.get(format!("{}/c/open/{opaque}", r.base)).send().await.expect("open");
    let token = csrf(&page.text().await.expect("page"));
    let ask = |email: &'static str| {
        browser
            .post(format!("{}/m/{opaque}/code", r.base))
            .form(&[("csrf", token.as_str()), ("email", email)])
            .send()
    };
    // Bcc carol and a stranger: the same statuses, request by request, to the limit and past.
    let mut answers = Vec::new();
    for _ in 0..6 {
        let carol = ask("carol@acme.example").await.expect("ask").status();
        let eve = ask("eve@outside.example").await.expect("ask").status();
        answers.push((carol, eve));
    }
    assert!(answers.iter().all(|(c, e)| c == e), "{answers:?}");
    assert_eq!(answers[5].0, StatusCode::TOO_MANY_REQUESTS, "{answers:?}");
    wait_for("five codes for carol", Duration::from_secs(30), || {
        (r.sink.received("carol@acme.example").len() >= 5).then_some(())
    });
    assert!(r.sink.received("eve@outside.example").is_empty(), "no mail to a stranger");

    // Password resets too: a stranger hits the same limit as an account holder.
    let reset = client(&r.data, true);
    let statuses: Vec<StatusCode> = {
        let mut out = Vec::new();
        for _ in 0..6 {
            let res =
                post_form(&r, &reset, "/c/reset", "/c/reset", &[("email", "eve@outside.example")]);
            out.push(res.await.status());
        }
        out
    };
    assert_eq!(statuses[4], StatusCode::OK);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn any_bytes_of_an_attachment_served_record_one_download_per_recipient() {
    let r = Running::start().await;
    let (link, id, token) = send_message(&r.base, &r.api, &r.password).await;
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let bob = code_session(&r, &opaque, "bob@outside.example", 1, Some("correct horse battery"));
    let bob = bob.await;
    let download = format!("{}/c/read/{opaque}/attachments/1", r.base);
    // All but the first byte, then the rest, then the whole: one download, recorded at once.
    let most = bob.get(&download).header("Range", "bytes=1-").send().await.expect("range");
    assert_eq!(most.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(most.bytes().await.expect("bytes").len(), attachment_bytes().len() - 1);
    let downloads = || async {
        let slip = slip_of(&r.api, &r.base, &token, &id).await;
        slip["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "downloaded")
            .count()
    };
    assert_eq!(downloads().await, 1, "a range request is a download");
    bob.get(&download).header("Range", "bytes=0-0").send().await.expect("range");
    bob.get(&download).send().await.expect("whole").bytes().await.expect("bytes");
    assert_eq!(downloads().await, 1, "once per recipient and attachment");
    let db = sealpost_platform::db::Db::connect(&r.database).await.expect("db");
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = 'attachment.downloaded'";
    let (rows,): (i64,) = db.fetch_one(sql, &[]).await.expect("audit rows");
    assert_eq!(rows, 1, "one audit row");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recipient_can_send_only_as_much_as_the_organisation_allows() {
    let r = Running::start().await;
    let policy = r.dir.path().join("policy.json");
    let limits = json!({"internal_domains": ["sealpost.localhost"], "center_messages_per_hour": 2});
    std::fs::write(&policy, limits.to_string()).expect("policy");
    let policy = policy.to_str().expect("path");
    support::admin(&r.data, &r.database, &["set-policy", "--tenant", "default", "--file", policy]);
    let (link, _id, _token) = send_message(&r.base, &r.api, &r.password).await;
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let bob = code_session(&r, &opaque, "bob@outside.example", 1, Some("correct horse battery"));
    let bob = bob.await;
    let write = |text: &'static str| {
        let bob = bob.clone();
        let (base, opaque) = (r.base.clone(), opaque.clone());
        async move {
            let form = bob.get(format!("{base}/c/reply/{opaque}?new=1")).send().await;
            let token = csrf(&form.expect("form").text().await.expect("page"));
            let multipart = reqwest::multipart::Form::new()
                .text("csrf", token)
                .text("fresh", "1")
                .text("subject", "Hello")
                .text("text", text);
            bob.post(format!("{base}/c/reply/{opaque}")).multipart(multipart).send().await
        }
    };
    for _ in 0..2 {
        assert_eq!(write("MARKER-ONE").await.expect("send").url().path(), "/c/mail/sent");
    }
    let third = write("MARKER-THIRD kept").await.expect("send");
    let status = third.status();
    let url = third.url().clone();
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "{url} {}",
        third.text().await.unwrap_or_default().chars().take(3000).collect::<String>()
    );
    let page = third.text().await.expect("page");
    assert!(page.contains("MARKER-THIRD kept"), "what was typed is kept");
    assert!(page.contains("per hour and per day"), "the page says why");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_larger_than_the_organisation_accepts_is_kept_on_its_form() {
    let r = Running::start().await;
    let (link, _id, _token) = send_message(&r.base, &r.api, &r.password).await;
    // From now on the organisation takes no envelope larger than 100 bytes: no reply fits.
    let policy = r.dir.path().join("policy.json");
    let limits = json!({"internal_domains": ["sealpost.localhost"], "max_envelope_bytes": 100});
    std::fs::write(&policy, limits.to_string()).expect("policy");
    let policy = policy.to_str().expect("path");
    support::admin(&r.data, &r.database, &["set-policy", "--tenant", "default", "--file", policy]);
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let bob = code_session(&r, &opaque, "bob@outside.example", 1, Some("correct horse battery"));
    let bob = bob.await;
    let form = bob.get(format!("{}/c/reply/{opaque}", r.base)).send().await.expect("form");
    let token = csrf(&form.text().await.expect("page"));
    let multipart = reqwest::multipart::Form::new()
        .text("csrf", token)
        .text("subject", "Re: figures")
        .text("text", "MARKER-LARGE kept");
    let answer = bob.post(format!("{}/c/reply/{opaque}", r.base)).multipart(multipart).send();
    let answer = answer.await.expect("send");
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = answer.text().await.expect("page");
    assert!(page.contains("MARKER-LARGE kept"), "what was typed is kept");
    assert!(page.contains("larger than this organisation accepts"), "the page says why");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_built_to_stall_the_parser_is_shown_as_text_at_once() {
    let r = Running::start().await;
    let token = support::sign_in(&r.api, &r.base, SENDER, &r.password).await;
    // 100,000 nested <div>s (~500 KB): ~27 s of the parser per view before the bound.
    let html = format!("{}MARKER-DEEP text<script>x()</script>", "<div>".repeat(100_000));
    let (link, _id) = send_html(&r.base, &r.api, &token, SENDER, "Deep", &html).await;
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let bob = code_session(&r, &opaque, "bob@outside.example", 1, Some("correct horse battery"));
    let bob = bob.await;
    // Several readers at once, and the platform still answers everyone else meanwhile.
    let views: Vec<_> = (0..8)
        .map(|_| {
            let (bob, url) = (bob.clone(), format!("{}/c/read/{opaque}", r.base));
            tokio::spawn(async move { bob.get(url).send().await?.text().await })
        })
        .collect();
    let health = r.api.get(format!("{}/healthz", r.base)).send().await.expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    for view in views {
        let page = view.await.expect("task").expect("page");
        assert!(page.contains("nested too deeply"), "the page says why it shows text");
        assert!(page.contains("MARKER-DEEP text") && !page.contains("x()"), "its text, no script");
    }
}

/// `len` pseudo-random bytes (from `seed`) with a marker at the start, to look for on disk.
fn file_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let marker = b"MARKER-PLAINTEXT-PIECE";
    let n = marker.len().min(len);
    bytes[..n].copy_from_slice(&marker[..n]);
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_with_large_attachments_is_uploaded_in_pieces_resumed_and_read_back_whole() {
    let r = Running::start().await;
    let (link, _id, _token) = send_message(&r.base, &r.api, &r.password).await;
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let bob = code_session(&r, &opaque, "bob@outside.example", 1, Some("correct horse battery"));
    let bob = bob.await;
    let base = &r.base;

    // The form runs the uploader, which only that page's policy allows; no other page runs
    // script.
    let form = bob.get(format!("{base}/c/reply/{opaque}")).send().await.expect("form");
    let csp = form.headers()["content-security-policy"].to_str().expect("csp").to_string();
    let script = format!("script-src {base}/c/static/reply.js; connect-src {base}/c/reply/;");
    assert!(csp.contains(&script), "only that script, talking to the reply alone: {csp}");
    let page = form.text().await.expect("page");
    assert!(page.contains(r#"<script src="/c/static/reply.js" defer>"#));
    let token = csrf(&page);
    let read = bob.get(format!("{base}/c/read/{opaque}")).send().await.expect("read");
    let csp = read.headers()["content-security-policy"].to_str().expect("csp");
    assert!(!csp.contains("script-src"), "{csp}");

    let big = file_bytes(20 * 1024 * 1024 + 12_345, 7);
    let small = file_bytes(70_000, 9);
    let uploads = format!("{base}/c/reply/{opaque}/uploads");
    let begin = json!({
        "subject": "Re: figures, the large files",
        "text": "MARKER-LARGE-REPLY here they are",
        "files": [
            {"name": "survey.bin", "type": "application/octet-stream", "size": big.len()},
            {"name": "empty.txt", "type": "text/plain", "size": 0},
            {"name": "notes.bin", "type": "", "size": small.len()},
        ],
    });
    let no_token = bob.post(&uploads).json(&begin).send().await.expect("begin");
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN, "the CSRF token is required");
    let stranger = client(&r.data, true).post(&uploads).header("x-csrf-token", &token);
    let stranger = stranger.json(&begin).send().await.expect("begin");
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED, "a session is required");
    let begun = bob.post(&uploads).header("x-csrf-token", &token).json(&begin).send().await;
    let status: Value = begun.expect("begin").json().await.expect("json");
    let id = status["id"].as_str().expect("id").to_string();
    let piece_bytes = status["piece_bytes"].as_u64().expect("piece size") as usize;
    assert_eq!(status["parts"][0]["size"], big.len());

    let here = format!("{uploads}/{id}");
    let put = |part: u64, at: usize, body: reqwest::Body| {
        bob.put(format!("{here}/{part}?at={at}")).header("x-csrf-token", &token).body(body).send()
    };
    let received = |s: &Value, i: usize| s["parts"][i]["received"].as_u64().expect("received");

    // The first piece; then one cut off half-way (the connection drops): nothing of it counts.
    let r1 = put(1, 0, big[..piece_bytes].to_vec().into()).await.expect("put");
    assert_eq!(received(&r1.json().await.expect("json"), 0), piece_bytes as u64);
    let half = big[piece_bytes..piece_bytes + piece_bytes / 2].to_vec();
    let dropped = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(bytes::Bytes::from(half)),
        Err(std::io::Error::other("the connection dropped")),
    ]);
    assert!(put(1, piece_bytes, reqwest::Body::wrap_stream(dropped)).await.is_err());
    let now = bob.get(&here).header("x-csrf-token", &token).send().await.expect("status");
    let now: Value = now.json().await.expect("json");
    assert_eq!(received(&now, 0), piece_bytes as u64, "resume from the last whole piece");

    // Pieces out of place are refused with where to resume, and so is one that ends inside a
    // chunk before the file's end; sending before all is in is refused.
    let wrong = put(1, 0, big[..1000].to_vec().into()).await.expect("put");
    assert_eq!(wrong.status(), StatusCode::CONFLICT);
    assert_eq!(wrong.json::<Value>().await.expect("json")["error"]["received"], piece_bytes);
    let ragged = put(1, piece_bytes, big[piece_bytes..piece_bytes + 1000].to_vec().into());
    assert_eq!(ragged.await.expect("put").status(), StatusCode::BAD_REQUEST);
    let early = bob.post(format!("{here}/send")).header("x-csrf-token", &token).send().await;
    assert_eq!(early.expect("send").status(), StatusCode::CONFLICT);

    // The rest, resumed where the platform says.
    for (i, bytes) in [(0usize, &big), (2, &small)] {
        let mut at = if i == 0 { piece_bytes } else { 0 };
        while at < bytes.len() {
            let end = (at + piece_bytes).min(bytes.len());
            let answer = put(i as u64 + 1, at, bytes[at..end].to_vec().into()).await.expect("put");
            assert!(answer.status().is_success(), "{}", answer.text().await.unwrap_or_default());
            at = received(&answer.json().await.expect("json"), i) as usize;
        }
    }
    let empty = put(2, 0, Vec::new().into()).await.expect("put");
    let status: Value = empty.json().await.expect("json");
    assert!(status["parts"].as_array().expect("parts").iter().all(|p| p["complete"] == true));

    // Nothing but ciphertext was ever written.
    let mut plaintext_on_disk = Vec::new();
    for entry in walk(&r.data) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        if bytes.windows(22).any(|w| w == b"MARKER-PLAINTEXT-PIECE") {
            plaintext_on_disk.push(entry);
        }
    }
    assert!(plaintext_on_disk.is_empty(), "plaintext on disk: {plaintext_on_disk:?}");

    // Another recipient of the message (carol, in Bcc) cannot see or touch bob's upload.
    let carol = code_session(&r, &opaque, "carol@acme.example", 1, None).await;
    let carol_form = carol.get(format!("{base}/c/reply/{opaque}")).send().await.expect("form");
    let carol_token = csrf(&carol_form.text().await.expect("page"));
    for request in [
        carol.get(&here),
        carol.put(format!("{here}/3?at=0")).body(small.clone()),
        carol.post(format!("{here}/send")),
    ] {
        let answer = request.header("x-csrf-token", &carol_token).send().await.expect("carol");
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "not carol's upload");
    }

    // A reply uploading counts with its declared size: 200 MB a day by default, so 150 MB
    // more in flight leaves no room for 40 MB; and two uploads in flight are the most.
    let begin_of = |size: u64| json!({"subject": "more", "text": "", "files": [{"name": "f.bin", "type": "", "size": size}]});
    let begin =
        |size: u64| bob.post(&uploads).header("x-csrf-token", &token).json(&begin_of(size)).send();
    assert!(begin(150 << 20).await.expect("begin").status().is_success());
    let over = begin(40 << 20).await.expect("begin");
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over.json::<Value>().await.expect("json")["error"]["code"], "over_limit");
    let third = begin(1000).await.expect("begin");
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.json::<Value>().await.expect("json")["error"]["code"], "uploads_in_flight");

    // Two sends at once: one seals and sends, the other is told it is under way (or finds it
    // sent); the sender is told once.
    let send = || bob.post(format!("{here}/send")).header("x-csrf-token", &token).send();
    let (first, second) = tokio::join!(send(), send());
    let statuses = [first.expect("send").status(), second.expect("send").status()];
    assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [StatusCode::OK, StatusCode::CONFLICT].contains(s)),
        "{statuses:?}"
    );
    let again = send().await.expect("send");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["location"], "/c/mail/sent", "a retried send finds the reply sent");
    wait_for("the reply notice", Duration::from_secs(20), || {
        (!r.sink.received(SENDER).is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2)); // a second notice would have come by now
    assert_eq!(r.sink.received(SENDER).len(), 1, "the sender is told once");

    // Read back in the Center, byte for byte.
    let folder = bob.get(format!("{base}/c/mail/sent")).send().await.expect("sent");
    let folder = folder.text().await.expect("page");
    let at = folder.find("the large files").expect("the reply listed");
    let reply = folder[..at].rsplit("/c/read/").next().expect("link");
    let reply: String = reply.chars().take_while(char::is_ascii_hexdigit).collect();
    let shown = bob.get(format!("{base}/c/read/{reply}")).send().await.expect("read");
    let shown = shown.text().await.expect("page");
    assert!(shown.contains("MARKER-LARGE-REPLY") && shown.contains("survey.bin"));
    for (part, bytes) in [(1, &big), (2, &Vec::new()), (3, &small)] {
        let got = bob.get(format!("{base}/c/read/{reply}/attachments/{part}")).send().await;
        let got = got.expect("download").bytes().await.expect("bytes");
        assert!(got.as_ref() == bytes.as_slice(), "attachment {part} read back whole");
    }
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

/// A browser like [`client`]'s that keeps cookies but does not follow redirects.
fn unfollowing(data: &std::path::Path) -> reqwest::Client {
    let cert = std::fs::read(data.join("tls/cert.pem")).expect("cert");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).expect("pem"))
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The language switch's address: to `lang`, back to `back`.
fn switch_to(base: &str, lang: &str, back: &str) -> String {
    let query = serde_urlencoded::to_string([("lang", lang), ("back", back)]).expect("query");
    format!("{base}/c/language?{query}")
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_in_the_readers_language_chosen_by_the_switch_or_the_browser() {
    let r = Running::start().await;
    let (link, _id, _token) = send_message(&r.base, &r.api, &r.password).await;
    let opaque = link.rsplit('/').next().expect("token").to_string();
    let base = &r.base;
    let open = format!("{base}/c/open/{opaque}");
    let browser = unfollowing(&r.data);
    let get = |url: String, languages: &'static str| {
        let mut request = browser.get(url);
        if !languages.is_empty() {
            request = request.header("Accept-Language", languages);
        }
        request.send()
    };

    // The browser's languages, best first by q-value; English without them.
    let german = get(open.clone(), "de-DE,de;q=0.9,en;q=0.8").await.expect("open");
    assert!(german.headers()["vary"].to_str().expect("vary").contains("Accept-Language"));
    let page = german.text().await.expect("page");
    assert!(page.contains(r#"<html lang="de">"#), "{page}");
    assert!(page.contains("Sie haben eine sichere Nachricht erhalten"));
    assert!(!page.contains("You have received"));
    let page = get(open.clone(), "en;q=0.3, de;q=0.9").await.expect("open").text().await;
    assert!(page.expect("page").contains(r#"<html lang="de">"#), "by q-value");
    let page = get(open.clone(), "").await.expect("open").text().await.expect("page");
    assert!(page.contains(r#"<html lang="en">"#) && page.contains("You have received"));
    // Every page offers the switch, back to itself.
    let switch = format!("/c/language?lang=de&#38;back=%2Fc%2Fopen%2F{opaque}");
    assert!(page.contains(&switch), "{page}");
    // Notices too.
    let gone = get(format!("{base}/c/open/0000"), "de").await.expect("open");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let page = gone.text().await.expect("page");
    assert!(page.contains(r#"<html lang="de">"#) && page.contains("Nachricht nicht gefunden"));

    // The reader chooses English: a cookie, and back to the page.
    let back = format!("/c/open/{opaque}");
    let chose = browser
        .get(switch_to(base, "en", &back))
        .header("Accept-Language", "de")
        .send()
        .await
        .expect("switch");
    assert_eq!(chose.status(), StatusCode::SEE_OTHER);
    assert_eq!(chose.headers()["location"], back.as_str());
    let cookie = chose.headers()["set-cookie"].to_str().expect("cookie").to_string();
    for part in ["__Host-sealpost-language=en", "Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    // The choice beats the browser's languages.
    let page = get(open.clone(), "de").await.expect("open").text().await.expect("page");
    assert!(page.contains(r#"<html lang="en">"#) && page.contains("You have received"));

    // Nowhere but a page of the Center, and only a language it speaks.
    for (lang, back) in [
        ("de", "https://evil.example/"),
        ("de", "//evil.example/c/"),
        ("de", "/\\evil.example"),
        ("de", "/admin"),
        ("de", ""),
        ("fr", "/c/signin"),
    ] {
        let refused = browser.get(switch_to(base, lang, back)).send().await.expect("switch");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{lang} {back}");
        assert!(refused.headers().get("location").is_none());
        assert!(refused.headers().get("set-cookie").is_none(), "nothing changed");
        assert!(refused.text().await.expect("page").contains("The language was not changed"));
    }

    // An account keeps its choice: signed in from another browser, its pages are German.
    let bob = "bob@outside.example";
    let owner = code_session(&r, &opaque, bob, 1, Some("correct horse battery")).await;
    let kept = owner.get(switch_to(base, "de", "/c/mail/inbox")).send().await.expect("switch");
    assert_eq!(kept.url().path(), "/c/mail/inbox");
    let page = kept.text().await.expect("page");
    assert!(page.contains(r#"<html lang="de">"#) && page.contains("Posteingang"), "{page}");
    let elsewhere = client(&r.data, true);
    let signed =
        password_sign_in(&r, &elsewhere, &opaque, (bob, "correct horse battery", "")).await;
    assert!(signed.url().path().starts_with("/c/read/"));
    let page = signed.text().await.expect("page");
    assert!(page.contains(r#"<html lang="de">"#) && page.contains("Antworten"), "{page}");
    assert!(page.contains("geöffnet") || page.contains("Von"), "{page}");
}
