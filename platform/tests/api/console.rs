//! The admin console over HTTPS as a browser uses it (cookies, CSRF tokens, redirects not
//! followed): sign-in with the second factor forced at first sign-in, the auth matrix over
//! every console route, members, the audit log, and set-password links. The browser itself
//! (Chromium, axe) is `tests/console/`.

use reqwest::{Certificate, Client, StatusCode, redirect};
use sealpost_platform::domain::Role;
use sealpost_platform::store::totp::code_at;
use sealpost_platform::store::{accounts, notifications};
use sealpost_policy::{Decision, ReasonCode};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, spawn_app};

/// One browser: its own cookies; redirects are answers, not followed.
struct Browser<'a> {
    app: &'a TestApp,
    client: Client,
}

/// What a console page answered: its status, where it redirects, its HTML.
struct Page {
    status: StatusCode,
    location: Option<String>,
    cache_control: Option<String>,
    html: String,
}

impl Page {
    /// The value of the form field `name` on the page (`name="…" value="…"`).
    fn field(&self, name: &str) -> String {
        let at = self
            .html
            .find(&format!("name=\"{name}\" value=\""))
            .unwrap_or_else(|| panic!("no field {name} on the page: {}", self.html));
        let rest = &self.html[at + name.len() + 15..];
        rest[..rest.find('"').expect("value ends")].to_string()
    }

    fn redirects_to(&self, path: &str) -> bool {
        self.status.is_redirection() && self.location.as_deref() == Some(path)
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        let cert = Certificate::from_pem(&app._running.tls.cert_pem).expect("cert");
        let client = Client::builder()
            .add_root_certificate(cert)
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .expect("client");
        Browser { app, client }
    }

    async fn page(r: reqwest::Response) -> Page {
        let status = r.status();
        let header =
            |name: &str| r.headers().get(name).map(|v| v.to_str().expect("ascii").to_string());
        let (location, cache_control) = (header("location"), header("cache-control"));
        Page { status, location, cache_control, html: r.text().await.expect("body") }
    }

    async fn get(&self, path: &str) -> Page {
        Self::page(self.client.get(self.app.url(path)).send().await.expect("get")).await
    }

    /// Posts `fields` to `path` with the CSRF token of the browser's sign-in page.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        let r = self.client.post(self.app.url(path)).form(&form).send().await.expect("post");
        Self::page(r).await
    }

    /// This browser's CSRF token (the cookie the sign-in page sets, as the forms carry it).
    async fn csrf(&self) -> String {
        let page = self.get("/admin/signin").await;
        if page.status == StatusCode::OK {
            return page.field("csrf");
        }
        // Signed in: the overview's sign-out form carries it (an enrolling session: the
        // enrolment form).
        let page = self.get("/admin").await;
        let page =
            if page.status == StatusCode::OK { page } else { self.get("/admin/enrol").await };
        page.field("csrf")
    }

    async fn sign_in(&self, email: &str, code: &str) -> Page {
        self.post("/admin/signin", &[("email", email), ("password", PASSWORD), ("code", code)])
            .await
    }

    /// Signs in as `email` for the first time and sets up the second factor; its key.
    async fn enrol(&self, email: &str) -> String {
        let signed_in = self.sign_in(email, "").await;
        assert!(signed_in.redirects_to("/admin/enrol"), "{}", signed_in.html);
        let page = self.get("/admin/enrol").await;
        let secret = secret_on(&page.html);
        let code = code_at(&secret, 0).expect("code");
        let done = self.post("/admin/enrol", &[("code", &code)]).await;
        assert!(done.redirects_to("/admin"), "{}", done.html);
        secret
    }
}

fn secret_on(html: &str) -> String {
    let at = html.find("id=\"totp-secret\">").expect("the key is shown") + 17;
    html[at..at + html[at..].find('<').expect("key ends")].to_string()
}

#[tokio::test]
async fn an_admin_gets_in_only_with_a_second_factor_set_up_at_the_first_sign_in() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    let browser = Browser::new(&app);

    assert!(browser.get("/admin").await.redirects_to("/admin/signin"));
    let wrong = browser
        .post(
            "/admin/signin",
            &[("email", "root@acme.example"), ("password", "nope"), ("code", "")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("Wrong address, password or code."));

    // The password alone opens nothing but the enrolment.
    assert!(browser.sign_in("root@acme.example", "").await.redirects_to("/admin/enrol"));
    for path in ["/admin", "/admin/members", "/admin/audit", "/admin/audit/export"] {
        let page = browser.get(path).await;
        assert!(page.redirects_to("/admin/enrol"), "{path}: {}", page.status);
    }
    let enrol = browser.get("/admin/enrol").await;
    let secret = secret_on(&enrol.html);
    let typo = browser.post("/admin/enrol", &[("code", "000000")]).await;
    assert_eq!(typo.status, StatusCode::BAD_REQUEST);
    assert_eq!(secret_on(&typo.html), secret, "a typo keeps the key the app already has");
    let code = code_at(&secret, 0).expect("code");
    assert!(browser.post("/admin/enrol", &[("code", &code)]).await.redirects_to("/admin"));
    let home = browser.get("/admin").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.html.contains("<h1>acme</h1>"), "{}", home.html);
    assert_eq!(home.cache_control.as_deref(), Some("no-store"), "no browser keeps a console page");

    // Signed out, the next sign-in needs the code.
    let out = browser.post("/admin/signout", &[]).await;
    assert!(out.redirects_to("/admin/signin"));
    assert!(browser.get("/admin").await.redirects_to("/admin/signin"));
    let no_code = browser.sign_in("root@acme.example", "").await;
    assert_eq!(no_code.status, StatusCode::UNAUTHORIZED);
    assert!(no_code.html.contains("code from your authenticator app"));
    let next = code_at(&secret, 30).expect("code");
    assert!(browser.sign_in("root@acme.example", &next).await.redirects_to("/admin"));

    // A sender has no console, even with the right password.
    app.user(app.acme, "sam@acme.example", Role::Sender).await;
    let sender = Browser::new(&app);
    let refused = sender.sign_in("sam@acme.example", "").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(sender.get("/admin").await.redirects_to("/admin/signin"));

    let log = app
        .state
        .db
        .fetch_all::<(String, String)>("SELECT actor, action FROM audit_log ORDER BY seq", &[]);
    let log = log.await.expect("audit");
    assert!(log.contains(&("root@acme.example".into(), "member.second_factor_enrolled".into())));
    assert!(log.contains(&("root@acme.example".into(), "console.signed_in".into())));
}

#[tokio::test]
async fn no_console_route_gives_data_to_anyone_but_the_organisations_administrators() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    app.user(app.acme, "secret-member@acme.example", Role::Sender).await;
    app.user(app.acme, "officer@acme.example", Role::Compliance).await;
    app.user(app.other, "boss@other.example", Role::Admin).await;
    let acme_admin = Browser::new(&app);
    acme_admin.enrol("root@acme.example").await;
    // Something in acme's audit log only acme's administrators may read.
    let added = acme_admin
        .post("/admin/members", &[("email", "audited-secret@acme.example"), ("role", "sender")])
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.html);
    let member_id = acme_admin
        .get("/admin/members?q=secret-member")
        .await
        .html
        .split("/admin/members/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the member's link")
        .to_string();

    let nobody = Browser::new(&app);
    let officer = Browser::new(&app);
    officer.enrol("officer@acme.example").await;
    let other_admin = Browser::new(&app);
    other_admin.enrol("boss@other.example").await;
    // A recipient's Message Center session is not a console session.
    let reader = Browser::new(&app);

    let member = format!("/admin/members/{member_id}");
    let reads = [
        "/admin/members".to_string(),
        "/admin/members?q=acme".into(),
        member.clone(),
        "/admin/audit".into(),
        "/admin/audit?actor=root".into(),
        "/admin/audit/export".into(),
        "/admin/policy".into(),
        "/admin/mail".into(),
        "/admin/keys".into(),
        "/admin/operator".into(),
        "/admin/branding".into(),
    ];
    let writes = [
        ("/admin/members".to_string(), vec![("email", "intruder@acme.example"), ("role", "admin")]),
        (format!("{member}/role"), vec![("role", "admin")]),
        (format!("{member}/disable"), vec![]),
        (format!("{member}/enable"), vec![]),
        (format!("{member}/second-factor"), vec![]),
        (format!("{member}/password-link"), vec![]),
        (format!("{member}/devices/1/revoke"), vec![]),
        ("/admin/audit/verify".to_string(), vec![]),
        (
            "/admin/policy".to_string(),
            vec![("intent", "save"), ("notification_mode", "sender_smtp")],
        ),
    ];
    let secrets = ["secret-member@acme.example", "audited-secret", "root@acme.example"];
    for (who, browser) in [
        ("nobody", &nobody),
        ("reader", &reader),
        ("officer", &officer),
        ("other org", &other_admin),
    ] {
        for path in &reads {
            let page = browser.get(path).await;
            // The other organisation's administrator has lists of their own; acme's member is
            // not found.
            let own_list = who == "other org" && !path.starts_with(&member);
            let own_list = own_list
                || (who == "other org"
                    && ["/admin/policy", "/admin/mail", "/admin/keys", "/admin/branding"]
                        .contains(&path.as_str()));
            assert!(own_list || !page.status.is_success(), "{who} GET {path}: {}", page.status);
            for s in secrets {
                assert!(!page.html.contains(s), "{who} GET {path} shows {s}");
            }
        }
        for (path, fields) in &writes {
            let page = browser.post(path, fields).await;
            // (The other organisation's administrator verifies the chain from their own log
            // page; their policy form, posted without its fields, is refused.)
            let own_log = who == "other org"
                && ["/admin/audit/verify", "/admin/mail/test"].contains(&path.as_str());
            assert!(own_log || !page.status.is_success(), "{who} POST {path}: {}", page.status);
            for s in secrets {
                assert!(!page.html.contains(s), "{who} POST {path} shows {s}");
            }
        }
    }
    // Each is refused in its own way: sign in first, or not for your role, or not found.
    assert!(nobody.get("/admin/members").await.redirects_to("/admin/signin"));
    assert_eq!(officer.get("/admin/members").await.status, StatusCode::FORBIDDEN);
    assert_eq!(other_admin.get(&member).await.status, StatusCode::NOT_FOUND);
    // The other organisation's administrator sees their own members, and none of acme's.
    let own = other_admin.get("/admin/members").await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.html.contains("boss@other.example"));
    // A form without this browser's token changes nothing, even for acme's administrator.
    let forged = acme_admin
        .client
        .post(app.url(&format!("{member}/disable")))
        .form(&[("csrf", "0123456789abcdef0123456789abcdef")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Nothing of the above changed acme's member.
    let still = acme_admin.get(&member).await;
    assert!(still.html.contains("active") && still.html.contains("Sender"), "{}", still.html);
    let (n,): (i64,) = app
        .state
        .db
        .fetch_one("SELECT COUNT(*) FROM users WHERE email = 'intruder@acme.example'", &[])
        .await
        .expect("count");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn administrators_add_disable_enable_and_change_members_and_the_last_admin_stays() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;

    // Added: a link to choose a password goes out through the mail queue.
    let added = admin
        .post("/admin/members", &[("email", "New.Person@acme.example"), ("role", "sender")])
        .await;
    assert!(added.html.contains("new.person@acme.example was added"), "{}", added.html);
    let twice = admin
        .post("/admin/members", &[("email", "new.person@acme.example"), ("role", "sender")])
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert!(twice.html.contains("is a member already"));
    let elsewhere =
        admin.post("/admin/members", &[("email", "x@other.example"), ("role", "admin")]).await;
    assert!(elsewhere.html.contains("belongs to another organisation"), "{}", elsewhere.html);

    let link = password_link(&app, "new.person@acme.example").await;
    let person = Browser::new(&app);
    let path = link.trim_start_matches(&app.base).to_string();
    assert!(person.get(&path).await.html.contains("Choose your password"));
    let short = person.post(&path, &[("password", "short"), ("confirm", "short")]).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    let chosen = "a password of my very own";
    let set = person.post(&path, &[("password", chosen), ("confirm", chosen)]).await;
    assert!(set.html.contains("Your password is set"), "{}", set.html);
    assert_eq!(person.get(&path).await.status, StatusCode::GONE, "a link works once");
    let api = app
        .post(
            None,
            "/api/v1/auth/sign-in",
            json!({"email": "new.person@acme.example", "password": chosen}),
        )
        .await;
    assert_eq!(api.status(), StatusCode::CREATED);
    let token = api.json::<serde_json::Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();

    // Disabled: the device token and sign-in stop working; enabled again, sign-in works.
    let list = admin.get("/admin/members?q=new.person").await;
    let id =
        list.html.split("/admin/members/").nth(1).and_then(|s| s.split('"').next()).expect("id");
    let page = format!("/admin/members/{id}");
    // A Message Center session of the member's address ends with the member.
    let center_token = sealpost_platform::store::center::new_session(
        &app.state.db,
        "new.person@acme.example",
        sealpost_platform::store::center::Proof::Password,
    )
    .await
    .expect("session");
    let center = || {
        app.client
            .get(app.url("/c/mail/inbox"))
            .header("Cookie", format!("__Host-sealpost-session={}", center_token.as_str()))
    };
    assert_eq!(center().send().await.expect("inbox").url().path(), "/c/mail/inbox");
    let disabled = admin.post(&format!("{page}/disable"), &[]).await;
    assert_eq!(center().send().await.expect("inbox").url().path(), "/c/signin");
    assert!(disabled.html.contains("Disabled: they can no longer sign in"), "{}", disabled.html);
    assert_eq!(app.get(Some(&token), "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    let refused = app
        .post(
            None,
            "/api/v1/auth/sign-in",
            json!({"email": "new.person@acme.example", "password": chosen}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let link_refused = admin.post(&format!("{page}/password-link"), &[]).await;
    assert!(link_refused.html.contains("is disabled; enable them first"));
    let enabled = admin.post(&format!("{page}/enable"), &[]).await;
    assert!(enabled.html.contains("Enabled again"));
    assert_eq!(
        app.get(Some(&token), "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "a device signed in before the member was disabled stays signed out"
    );
    let again = app
        .post(
            None,
            "/api/v1/auth/sign-in",
            json!({"email": "new.person@acme.example", "password": chosen}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);

    // Devices are listed and revoked one at a time.
    let devices = admin.get(&page).await;
    assert!(devices.html.contains("Sign out device"), "{}", devices.html);
    let device_id: i64 = {
        let at = devices.html.find("/devices/").expect("a device form") + 9;
        devices.html[at..].split('/').next().expect("id").parse().expect("number")
    };
    let revoked = admin.post(&format!("{page}/devices/{device_id}/revoke"), &[]).await;
    assert!(revoked.html.contains("The device was signed out."));

    // The name they are shown by.
    let named = admin.post(&format!("{page}/name"), &[("name", "  New Person ")]).await;
    assert!(named.html.contains("The display name is saved."), "{}", named.html);
    assert!(named.html.contains("value=\"New Person\""));
    let too_long = admin.post(&format!("{page}/name"), &[("name", &"x".repeat(81))]).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);

    // Roles: made an administrator, and back; the only administrator keeps the role.
    let promoted = admin.post(&format!("{page}/role"), &[("role", "admin")]).await;
    assert!(promoted.html.contains("The role is now Administrator."));
    let back = admin.post(&format!("{page}/role"), &[("role", "sender")]).await;
    assert!(back.html.contains("The role is now Sender."));
    let root_id = {
        let list = admin.get("/admin/members?q=root").await;
        list.html
            .split("/admin/members/")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("id")
            .to_string()
    };
    let alone = admin.post(&format!("/admin/members/{root_id}/disable"), &[]).await;
    assert_eq!(alone.status, StatusCode::BAD_REQUEST);
    assert!(alone.html.contains("only administrator"), "{}", alone.html);
    let demoted =
        admin.post(&format!("/admin/members/{root_id}/role"), &[("role", "sender")]).await;
    assert!(demoted.html.contains("only administrator"));

    // Every change is in the audit log, under the administrator.
    let log = admin.get("/admin/audit?action=member.").await;
    for action in [
        "member.added",
        "member.disabled",
        "member.enabled",
        "member.role_changed",
        "member.device_revoked",
        "member.password_link_sent",
    ] {
        assert!(log.html.contains(action), "{action} is not in the log");
    }
}

/// The set-password link in the mail queued for `email` (claimed from the queue, as the
/// mail worker would, and opened). The test platform's own worker, which has no relay, may
/// have claimed it first and put it off: it is made due again until this claim wins.
async fn password_link(app: &TestApp, email: &str) -> String {
    for _ in 0..50 {
        let due = "UPDATE notifications SET next_attempt_at = 0 WHERE recipient = $1 AND state = 'queued'";
        app.state.db.execute(due, &[email.into()]).await.expect("due");
        let claimed = notifications::claim(&app.state.db, &app.state.master, 100, 60_000)
            .await
            .expect("queue");
        if let Some(mail) = claimed.iter().find(|c| c.mail.recipient == email) {
            let text = &mail.mail.text;
            let at = text.find("https://").expect("a link");
            return text[at..].split_whitespace().next().expect("link").to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no mail to {email} in the queue");
}

#[tokio::test]
async fn the_audit_log_is_filtered_verified_and_exported_with_only_the_organisations_entries() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    app.user(app.other, "boss@other.example", Role::Admin).await;
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;
    Browser::new(&app).enrol("boss@other.example").await;
    admin
        .post("/admin/members", &[("email", "under_score@acme.example"), ("role", "sender")])
        .await;

    let all = admin.get("/admin/audit").await;
    assert!(all.html.contains("member.added"));
    assert!(!all.html.contains("boss@other.example"), "another organisation's entries");
    // The filter's text is text: `_` is not a wildcard.
    let by_action = admin.get("/admin/audit?action=member.second_").await;
    assert!(by_action.html.contains("member.second_factor_enrolled"));
    assert!(!by_action.html.contains("member.added"));
    let none = admin.get("/admin/audit?action=member_added").await;
    assert!(none.html.contains("No entry matches"));
    let bad_date = admin.get("/admin/audit?since=yesterday").await;
    assert_eq!(bad_date.status, StatusCode::BAD_REQUEST);
    assert!(bad_date.html.contains("YYYY-MM-DD"));

    let verified = admin.post("/admin/audit/verify", &[]).await;
    assert!(verified.html.contains("The audit log is intact"), "{}", verified.html);
    let again = admin.post("/admin/audit/verify", &[]).await;
    assert!(again.html.contains("less than a minute ago"), "once a minute: {}", again.html);

    let export = admin
        .client
        .get(app.url("/admin/audit/export?action=member."))
        .send()
        .await
        .expect("export");
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let body = export.text().await.expect("body");
    let lines: Vec<serde_json::Value> =
        body.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert!(lines.len() >= 2, "{body}");
    for l in &lines {
        assert!(l["action"].as_str().expect("action").starts_with("member."));
        assert_eq!(l["hash"].as_str().expect("hash").len(), 64);
        assert!(!l["actor"].as_str().expect("actor").contains("other.example"));
    }
}

#[tokio::test]
async fn the_policy_form_tries_patterns_refuses_broken_ones_and_what_it_saves_decides_sends() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;
    let before = accounts::policy(&app.state.db, app.acme).await.expect("policy");

    let form = admin.get("/admin/policy").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html.contains("acme.example</textarea>"), "the current domains are shown");

    let card = r"\b\d{4}-\d{4}-\d{4}-\d{4}\b";
    let fields = |patterns: &str, intent: &'static str| {
        vec![
            ("internal_domains", "acme.example".to_string()),
            ("secure_external", "on".to_string()),
            ("secure_attachments", "on".to_string()),
            ("subject_keywords", "Quarterly\nmerger".to_string()),
            ("dlp_patterns", patterns.to_string()),
            ("sample", "card 4417-1234-5678-9113 please".to_string()),
            ("notification_mode", "sender_smtp".to_string()),
            ("default_expiry_days", "30".to_string()),
            ("max_envelope_mib", "2048".to_string()),
            ("stub_subject", "Secure message: {subject}".to_string()),
            ("stub_keeps_subject", "on".to_string()),
            ("stub_intro", "You have a secure message.".to_string()),
            ("center_messages_per_hour", "20".to_string()),
            ("center_mib_per_day", "200".to_string()),
            ("intent", intent.to_string()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.post("/admin/policy", &borrowed).await
        }
    };

    // Tried on the sample: which pattern matches, which is broken; nothing is saved.
    let tried = post(fields(&format!("{card}\n(unclosed\nnever-[0-9]+"), "try")).await;
    assert_eq!(tried.status, StatusCode::OK, "{}", tried.html);
    assert!(tried.html.contains("matches: a message like this is secured"), "{}", tried.html);
    assert!(tried.html.contains("(unclosed</code> is not valid: unclosed group"), "{}", tried.html);
    assert!(tried.html.contains("never-[0-9]+</code> does not match"), "{}", tried.html);
    assert_eq!(accounts::policy(&app.state.db, app.acme).await.expect("policy"), before);

    // Saved with the broken pattern: refused with the reason, nothing changed.
    let refused = post(fields(&format!("{card}\n(unclosed"), "save")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains("(unclosed&#34; is not valid: unclosed group."),
        "{}",
        refused.html
    );
    assert_eq!(accounts::policy(&app.state.db, app.acme).await.expect("policy"), before);
    let bad_number = post(vec![
        ("intent", "save".into()),
        ("notification_mode", "sender_smtp".into()),
        ("max_envelope_mib", "lots".into()),
    ])
    .await;
    assert_eq!(bad_number.status, StatusCode::BAD_REQUEST);

    let saved = post(fields(card, "save")).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.html);
    assert!(saved.html.contains("Saved."));
    let now = accounts::policy(&app.state.db, app.acme).await.expect("policy");
    assert_eq!(now.subject_keywords, ["Quarterly", "merger"]);
    assert_eq!(now.max_envelope_bytes, 2048 << 20);
    assert_eq!(now.default_expiry_days, 30);

    // What the saved policy does to a send is classify's.
    let decide = |subject: &str, text: &str, attachments: usize| {
        let body = json!({"candidate": {"recipients": ["bob@acme.example"], "subject": subject,
            "text": text, "attachments": attachments}});
        let app = &app;
        let alice = alice.clone();
        async move {
            let r = app.post(Some(&alice), "/api/v1/classify", body).await;
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Decision>().await.expect("decision")
        }
    };
    assert!(!decide("Lunch", "at noon", 0).await.secure, "internal, no rule");
    let codes = |d: Decision| d.reasons.iter().map(|r| r.code).collect::<Vec<_>>();
    assert_eq!(codes(decide("quarterly figures", "", 0).await), [ReasonCode::SubjectKeyword]);
    assert_eq!(codes(decide("Lunch", "", 1).await), [ReasonCode::Attachments]);
    assert_eq!(codes(decide("Lunch", "4417-1234-5678-9113", 0).await), [ReasonCode::DlpPattern]);

    let (tenant,): (Option<i64>,) = app
        .state
        .db
        .fetch_one("SELECT tenant_id FROM audit_log WHERE action = 'policy.changed'", &[])
        .await
        .expect("audited");
    assert_eq!(tenant, Some(app.acme));
}

#[tokio::test]
async fn the_mail_page_sets_the_relay_sends_a_test_and_retries_only_the_organisations_dead_mail() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    app.user(app.other, "boss@other.example", Role::Admin).await;
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;
    let other = Browser::new(&app);
    other.enrol("boss@other.example").await;

    let relay_at = |host: &'static str, security: &'static str| {
        vec![
            ("host", host),
            ("port", "2525"),
            ("security", security),
            ("username", "acme-relay"),
            ("password", "relay-secret-never-shown"),
            ("from", "Acme secure mail <secure@acme.example>"),
        ]
    };
    let relay = |security: &'static str| relay_at("relay.acme.example", security);
    let refused = admin.post("/admin/mail/relay", &relay("bogus")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    // Nothing inside the platform's own network: the mail worker knocks on no neighbour.
    for inside in ["127.0.0.1", "10.0.0.5", "[::1]", "169.254.169.254", "localhost"] {
        let refused = admin.post("/admin/mail/relay", &relay_at(inside, "none")).await;
        assert!(
            refused.html.contains("inside the platform&#39;s network"),
            "{inside}: {}",
            refused.html
        );
    }
    let saved = admin.post("/admin/mail/relay", &relay("none")).await;
    assert!(saved.html.contains("now goes through this relay"), "{}", saved.html);
    assert!(saved.html.contains("relay.acme.example:2525"));
    assert!(!saved.html.contains("relay-secret-never-shown"), "the password is never shown");

    let tested = admin.post("/admin/mail/test", &[("to", "it@acme.example")]).await;
    assert!(tested.html.contains("A test mail is queued"), "{}", tested.html);
    assert!(tested.html.contains("it@acme.example"));
    assert!(!other.get("/admin/mail").await.html.contains("it@acme.example"), "acme's queue");

    // A dead mail of each organisation: each administrator retries only their own.
    let dead = "UPDATE notifications SET state = 'dead', last_error = 'relay said no' \
                WHERE recipient = 'it@acme.example'";
    app.state.db.execute(dead, &[]).await.expect("dead");
    let (id,): (i64,) = app
        .state
        .db
        .fetch_one("SELECT id FROM notifications WHERE recipient = 'it@acme.example'", &[])
        .await
        .expect("id");
    let listed = admin.get("/admin/mail?state=dead").await;
    assert!(listed.html.contains("relay said no"), "{}", listed.html);
    let theirs = other.post(&format!("/admin/mail/{id}/retry"), &[]).await;
    assert_eq!(theirs.status, StatusCode::BAD_REQUEST);
    assert!(theirs.html.contains("no dead-lettered notification"));
    let mine = admin.post(&format!("/admin/mail/{id}/retry"), &[]).await;
    assert!(mine.html.contains("The mail is queued again."), "{}", mine.html);

    let cleared = admin.post("/admin/mail/relay/clear", &[]).await;
    assert!(cleared.html.contains("relay again"), "{}", cleared.html);
    let again = admin.post("/admin/mail/relay/clear", &[]).await;
    assert!(again.html.contains("has no relay of its own"));
}

#[tokio::test]
async fn messages_are_tracked_recalled_by_admins_and_opened_by_compliance_only_with_a_reason() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    app.user(app.acme, "officer@acme.example", Role::Compliance).await;
    app.user(app.other, "boss@other.example", Role::Admin).await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let id = crate::helpers::sent_message(&app, &alice, "alice@acme.example").await;
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;
    let officer = Browser::new(&app);
    officer.enrol("officer@acme.example").await;
    let other = Browser::new(&app);
    other.enrol("boss@other.example").await;

    // Found by sender, by a Bcc recipient, by subject; not by anything else.
    for query in
        ["sender=alice", "recipient=hidden%40elsewhere", "subject=hell", "since=2000-01-01"]
    {
        let found = admin.get(&format!("/admin/messages?{query}")).await;
        assert!(found.html.contains(&format!("/admin/messages/{id}")), "{query}: {}", found.html);
    }
    let none = admin.get("/admin/messages?subject=nothing-like-it").await;
    assert!(none.html.contains("No message matches"));
    let bad = admin.get("/admin/messages?since=last-week").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The slip: every recipient, Bcc too, with what happened.
    let slip = admin.get(&format!("/admin/messages/{id}")).await;
    assert_eq!(slip.status, StatusCode::OK);
    assert!(slip.html.contains("hidden@elsewhere.example") && slip.html.contains("bcc"));
    assert!(!slip.html.contains("Open the message"), "administrators do not read messages");

    // Another organisation finds nothing and reaches nothing.
    assert!(other.get("/admin/messages").await.html.contains("No message matches"));
    assert_eq!(other.get(&format!("/admin/messages/{id}")).await.status, StatusCode::NOT_FOUND);
    let theirs = other.post(&format!("/admin/messages/{id}/recall"), &[]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // Only a compliance officer opens it, and only with a reason, which is recorded first.
    let refused = admin
        .post(&format!("/admin/messages/{id}/review"), &[("reason", "I am curious about it")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let short = officer.post(&format!("/admin/messages/{id}/review"), &[("reason", "why")]).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(!short.html.contains("4417-1234"), "nothing decrypted without a reason");
    let reason = "Legal hold LH-2026-17 (request by counsel)";
    let opened = officer.post(&format!("/admin/messages/{id}/review"), &[("reason", reason)]).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.html);
    assert!(
        opened.html.contains("The secret figures for Hello: 4417-1234-5678-9113"),
        "{}",
        opened.html
    );
    assert!(opened.html.contains("figures.bin"));
    let (actor, detail): (String, String) = app
        .state
        .db
        .fetch_one(
            "SELECT actor, detail FROM audit_log WHERE action = 'compliance.message_opened'",
            &[],
        )
        .await
        .expect("audited");
    assert_eq!(actor, "officer@acme.example");
    assert!(detail.contains(&id) && detail.contains(reason));
    // The officer downloads it all as a ZIP — the export the command line writes — with a
    // reason on record; nobody else does.
    let export = format!("/admin/messages/{id}/export");
    let reason = [("reason", "Legal hold LH-2026-17, the full copy for counsel")];
    assert_eq!(admin.post(&export, &reason).await.status, StatusCode::FORBIDDEN);
    let theirs = other.post(&export, &reason).await;
    assert!(theirs.status.is_client_error() && !theirs.html.contains("figures"));
    assert_eq!(officer.post(&export, &[("reason", "why")]).await.status, StatusCode::BAD_REQUEST);
    let csrf = officer.csrf().await;
    let form = [("csrf", csrf.as_str()), reason[0]];
    let zip = officer.client.post(app.url(&export)).form(&form).send().await.expect("export");
    assert_eq!(zip.status(), StatusCode::OK);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let zip = zip.bytes().await.expect("zip").to_vec();
    let files = unzip(zip).await;
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["manifest.json", "body.txt", "attachments/1-figures.bin"]);
    assert!(String::from_utf8_lossy(&files[1].1).contains("4417-1234-5678-9113"));
    let figures: Vec<u8> = (0..100).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(files[2].1, figures, "the attachment, byte for byte");
    let (n,): (i64,) = app
        .state
        .db
        .fetch_one(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'compliance.message_exported' \
             AND actor = 'officer@acme.example' AND detail LIKE '%full copy for counsel%'",
            &[],
        )
        .await
        .expect("audited");
    assert_eq!(n, 1, "one export on record, the refused ones none");

    let cannot_recall = officer.post(&format!("/admin/messages/{id}/recall"), &[]).await;
    assert_eq!(cannot_recall.status, StatusCode::FORBIDDEN);

    // The administrator changes the expiry, then recalls; the sender sees both.
    let expiry =
        admin.post(&format!("/admin/messages/{id}/expiry"), &[("day", "2099-12-31")]).await;
    assert!(expiry.html.contains("The expiry is changed."), "{}", expiry.html);
    assert!(expiry.html.contains("2100-01-01 00:00 UTC"), "expires at the end of the day");
    let recalled = admin.post(&format!("/admin/messages/{id}/recall"), &[]).await;
    assert!(recalled.html.contains("Recalled: nobody can open the message any more."));
    let seen = app.get(Some(&alice), &format!("/api/v1/messages/{id}")).await;
    let seen: serde_json::Value = seen.json().await.expect("json");
    assert_eq!(seen["state"], "recalled");
    assert!(seen["expires_at"].as_i64().is_some());
    let log = admin.get("/admin/audit?action=message.").await;
    assert!(log.html.contains("message.recalled") && log.html.contains("message.expiry_changed"));
}

#[tokio::test]
async fn the_keys_page_sets_the_compliance_key_and_shows_the_platform_key() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;
    let page = admin.get("/admin/keys").await;
    assert_eq!(page.status, StatusCode::OK);
    let platform = app.platform_key().await.key_id().to_hex();
    assert!(page.html.contains(&platform), "the platform key's id is shown");
    assert!(page.html.contains("None yet."));

    let refused = admin.post("/admin/keys/compliance", &[("pem", "not a key")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.html.contains("Not a usable public key"));
    let private =
        sealpost_envelope::PrivateKey::generate(sealpost_envelope::RsaBits::Rsa3072).expect("key");
    let key = private.public_key();
    let pem = key.to_pem().expect("pem");
    let set = admin.post("/admin/keys/compliance", &[("pem", &pem)]).await;
    let id = key.key_id().to_hex();
    assert!(set.html.contains(&format!("The compliance key is now {id}.")), "{}", set.html);
    let stored = sealpost_platform::store::user_keys::compliance_key(&app.state.db, app.acme)
        .await
        .expect("db")
        .expect("set");
    assert_eq!(stored.key_id, id);
}

#[tokio::test]
async fn reports_count_the_organisations_messages_per_day_and_week_with_csv() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    app.user(app.other, "boss@other.example", Role::Admin).await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let first = crate::helpers::sent_message(&app, &alice, "alice@acme.example").await;
    crate::helpers::sent_message(&app, &alice, "alice@acme.example").await;
    // Bob opens the first one (as the Message Center records it).
    sealpost_platform::store::messages::add_event(
        &app.state.db,
        &first,
        Some("bob@outside.example"),
        "opened",
    )
    .await
    .expect("event");
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;
    let today = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10]
        .to_string();

    let daily = admin.get("/admin/reports").await;
    assert_eq!(daily.status, StatusCode::OK);
    assert!(daily.html.contains(&format!("<title>{today}: 2</title>")), "{}", daily.html);
    assert!(daily.html.contains("alice@acme.example: 2"), "top senders");
    let csv = admin.client.get(app.url("/admin/reports.csv?period=day")).send().await.expect("csv");
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.expect("body");
    let line = csv.lines().find(|l| l.starts_with(&today)).expect("today's line");
    // Two messages, each to bob and a Bcc; one of the four opened within a day: 25 %.
    let fields: Vec<&str> = line.split(',').collect();
    assert_eq!(fields[1..3], ["2", "4"], "{line}");
    assert_eq!(fields[4..], ["1", "25", "0"], "{line}");
    assert_eq!(csv.lines().count(), 31, "a header and 30 days");
    let weekly = admin.get("/admin/reports?period=week").await;
    assert!(weekly.html.contains(": 2</title>"), "this week's bar");

    let other = Browser::new(&app);
    other.enrol("boss@other.example").await;
    let theirs = other.get("/admin/reports").await;
    assert!(!theirs.html.contains(": 2</title>") && theirs.html.contains("Nobody sent"));
}

#[tokio::test]
async fn a_csv_import_is_checked_line_by_line_and_a_file_with_a_problem_changes_nothing() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    app.user(app.acme, "sam@acme.example", Role::Sender).await;
    app.user(app.acme, "kim@acme.example", Role::Sender).await;
    app.user(app.other, "boss@other.example", Role::Admin).await;
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;
    let upload = |csv: &'static str, mode: &'static str| {
        let admin = &admin;
        async move {
            let csrf = admin.csrf().await;
            let form = reqwest::multipart::Form::new().text("csrf", csrf).text("mode", mode).part(
                "file",
                reqwest::multipart::Part::bytes(csv.as_bytes()).file_name("members.csv"),
            );
            let r = admin.client.post(admin.app.url("/admin/members/import")).multipart(form);
            Browser::page(r.send().await.expect("post")).await
        }
    };
    let members = || async {
        let rows: Vec<(String, String)> = app
            .state
            .db
            .fetch_all("SELECT email, role FROM users ORDER BY email", &[])
            .await
            .expect("users");
        rows
    };
    let before = members().await;

    let broken = "email,role\n\
                  new.one@acme.example,sender\n\
                  not-an-address,sender\n\
                  x@other.example,admin\n\
                  y@nowhere.example,\n\
                  boss@other.example\n\
                  new.one@acme.example,admin\n\
                  z@acme.example,overlord\n\
                  a@acme.example,sender,extra\n\
                  root@acme.example,sender\n";
    for mode in ["check", "import"] {
        let page = upload(broken, mode).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
        assert!(
            page.html.contains("8 line(s) have a problem, so nothing was changed"),
            "{}",
            page.html
        );
        for why in [
            "has no @",
            "belongs to another organisation",
            "is not one of this organisation",
            "is in the file twice",
            "is not a role",
            "two fields",
            "only administrator",
        ] {
            assert!(page.html.contains(why), "no line says {why:?}: {}", page.html);
        }
        assert!(!page.html.contains("is a member"), "nothing about another organisation's people");
        assert_eq!(members().await, before, "a file with a problem changes nothing ({mode})");
    }

    let good = "email,role\n\
                new.one@acme.example,sender\n\
                new.two@acme.example,compliance\n\
                sam@acme.example,admin\n\
                kim@acme.example,sender\n";
    let checked = upload(good, "check").await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.html);
    assert!(checked.html.contains("Checked: 3 change(s) would be made"), "{}", checked.html);
    assert!(checked.html.contains("change the role from Sender to Administrator"));
    assert_eq!(members().await, before, "a dry run changes nothing");

    let imported = upload(good, "import").await;
    assert!(imported.html.contains("Imported: 3 change(s) made"), "{}", imported.html);
    let after = members().await;
    assert!(after.contains(&("new.one@acme.example".into(), "sender".into())));
    assert!(after.contains(&("new.two@acme.example".into(), "compliance".into())));
    assert!(after.contains(&("sam@acme.example".into(), "admin".into())));
    password_link(&app, "new.two@acme.example").await;
}

#[tokio::test]
async fn operators_create_organisations_whose_domains_belong_to_one_organisation_only() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    app.user(app.acme, "ops@acme.example", Role::Sender).await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    crate::helpers::sent_message(&app, &alice, "alice@acme.example").await;
    let cli = sealpost_platform::admin::Admin::new(&app.state, "cli");
    cli.set_operator("ops@acme.example", true).await.expect("operator");

    // An organisation's administrator is not an operator.
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;
    assert_eq!(admin.get("/admin/operator").await.status, StatusCode::FORBIDDEN);
    let refused = admin
        .post("/admin/operator/organisations", &[("name", "Evil"), ("domains", "evil.example")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // An operator (a sender in their own organisation) sees every organisation's counts,
    // and no organisation's members or messages.
    let ops = Browser::new(&app);
    ops.enrol("ops@acme.example").await;
    // The organisation's administrator cannot take the operator's account over.
    let ops_id = admin
        .get("/admin/members?q=ops")
        .await
        .html
        .split("/admin/members/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("id")
        .to_string();
    for action in ["second-factor", "password-link", "disable"] {
        let refused = admin.post(&format!("/admin/members/{ops_id}/{action}"), &[]).await;
        assert!(refused.html.contains("runs this platform"), "{action}: {}", refused.html);
    }
    assert!(
        sealpost_platform::store::totp::enabled(
            &app.state.db,
            sealpost_platform::store::totp::Owner::User(ops_id.parse().expect("id"))
        )
        .await
        .expect("db")
    );
    let page = ops.get("/admin/operator").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("acme.example") && page.html.contains("other.example"));
    assert!(!page.html.contains("alice@acme.example"), "no member's address");
    assert_eq!(ops.get("/admin/members").await.status, StatusCode::FORBIDDEN);
    assert_eq!(ops.get("/admin/messages").await.status, StatusCode::FORBIDDEN, "a sender still");

    let taken = ops
        .post(
            "/admin/operator/organisations",
            &[("name", "Globex"), ("domains", "globex.example\nacme.example")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(
        taken.html.contains("acme.example belongs to an organisation already"),
        "{}",
        taken.html
    );
    let bad = ops
        .post("/admin/operator/organisations", &[("name", "Globex"), ("domains", "globex")])
        .await;
    assert!(bad.html.contains("is not a mail domain"));
    assert!(
        accounts::tenant_by_name(&app.state.db, "Globex").await.expect("db").is_none(),
        "nothing half made"
    );
    let made = ops
        .post("/admin/operator/organisations", &[("name", "Globex"), ("domains", "Globex.example")])
        .await;
    assert!(made.html.contains("The organisation &#34;Globex&#34; is created"), "{}", made.html);
    let twice = ops
        .post("/admin/operator/organisations", &[("name", "Globex"), ("domains", "globex.net")])
        .await;
    assert!(twice.html.contains("already"));
    let globex =
        accounts::tenant_by_name(&app.state.db, "Globex").await.expect("db").expect("made");
    let added = ops
        .post(
            &format!("/admin/operator/organisations/{globex}/domains"),
            &[("domain", "globex.net")],
        )
        .await;
    assert!(added.html.contains("The domain is added."), "{}", added.html);
    let theirs = ops
        .post(
            &format!("/admin/operator/organisations/{globex}/domains"),
            &[("domain", "other.example")],
        )
        .await;
    assert!(theirs.html.contains("other.example belongs to an organisation already"));
    let policy = accounts::policy(&app.state.db, globex).await.expect("policy");
    assert_eq!(policy.internal_domains, ["globex.example", "globex.net"]);
    assert_eq!(
        accounts::domain_owner(&app.state.db, "globex.net").await.expect("db"),
        Some(globex)
    );
}

/// A 1×1 PNG (a real one: signature, IHDR, IDAT, IEND).
const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[tokio::test]
async fn branding_is_checked_previewed_and_shown_on_the_organisations_pages_and_stubs() {
    let app = spawn_app().await;
    app.user(app.acme, "root@acme.example", Role::Admin).await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let admin = Browser::new(&app);
    admin.enrol("root@acme.example").await;
    let post = |name: &'static str, colour: &'static str, logo: &'static [u8]| {
        let admin = &admin;
        async move {
            let form = reqwest::multipart::Form::new()
                .text("csrf", admin.csrf().await)
                .text("name", name)
                .text("colour", colour)
                .part("logo", reqwest::multipart::Part::bytes(logo).file_name("logo.png"));
            let r = admin.client.post(admin.app.url("/admin/branding")).multipart(form);
            Browser::page(r.send().await.expect("post")).await
        }
    };
    assert!(admin.get("/admin/branding").await.html.contains("No branding yet"));
    let light = post("Acme Corp", "#ffcc00", b"").await;
    assert_eq!(light.status, StatusCode::BAD_REQUEST);
    assert!(light.html.contains("too light"), "{}", light.html);
    let svg = post("Acme Corp", "#1f4e79", b"<svg onload=\"alert(1)\"/>").await;
    assert!(svg.html.contains("must be a PNG or JPEG"), "{}", svg.html);
    let saved = post("Acme Corp", "#1F4E79", TINY_PNG).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.html);
    assert!(
        saved.html.contains("style=\"background: #1f4e79\"")
            && saved.html.contains("Sent by Acme Corp")
    );

    // A message of the organisation: its first-contact page and its stub carry the branding.
    let key = app.platform_key().await;
    let msg =
        crate::helpers::message("alice@acme.example", &["bob@outside.example"], "Hi", &key, 10);
    app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await;
    app.upload(&alice, &msg.id, 0, msg.envelope.clone()).await;
    let done =
        app.post(Some(&alice), &format!("/api/v1/messages/{}/finalise", msg.id), json!({})).await;
    let done: serde_json::Value = done.json().await.expect("json");
    assert!(done["stub"]["html"].as_str().expect("html").contains("background:#1f4e79"));
    assert!(
        done["stub"]["text"].as_str().expect("text").contains("Sent by Acme Corp with Sealpost")
    );
    let link = done["link"].as_str().expect("link").rsplit('/').next().expect("token").to_string();
    let reader = Browser::new(&app);
    let page = reader.get(&format!("/c/open/{link}")).await;
    assert!(page.html.contains("<span class=\"brand\">Acme Corp</span>"), "{}", page.html);
    let logo_url =
        page.html.split("src=\"").nth(1).and_then(|s| s.split('"').next()).expect("logo");
    let logo = reader.client.get(app.url(logo_url)).send().await.expect("logo");
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(&logo.bytes().await.expect("bytes")[..], TINY_PNG);
    // Another organisation's message page keeps Sealpost's own look.
    let other = app.user(app.other, "olga@other.example", Role::Sender).await;
    let theirs =
        crate::helpers::message("olga@other.example", &["bob@outside.example"], "Hi", &key, 10);
    app.post(Some(&other), "/api/v1/messages", theirs.slip.clone()).await;
    app.upload(&other, &theirs.id, 0, theirs.envelope.clone()).await;
    let done = app
        .post(Some(&other), &format!("/api/v1/messages/{}/finalise", theirs.id), json!({}))
        .await;
    let done: serde_json::Value = done.json().await.expect("json");
    let link = done["link"].as_str().expect("link").rsplit('/').next().expect("token").to_string();
    let page = reader.get(&format!("/c/open/{link}")).await;
    assert!(
        page.html.contains("<span class=\"brand\">Sealpost</span>")
            && !page.html.contains("Acme Corp")
    );
}

/// The files of a ZIP, in order: (name, bytes).
async fn unzip(zip: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let reader = async_zip::base::read::mem::ZipFileReader::new(zip).await.expect("a zip");
    let mut files = Vec::new();
    for i in 0..reader.file().entries().len() {
        let name = reader.file().entries()[i].filename().as_str().expect("name").to_string();
        let mut entry = reader.reader_with_entry(i).await.expect("entry");
        let mut bytes = Vec::new();
        entry.read_to_end_checked(&mut bytes).await.expect("read, CRC checked");
        files.push((name, bytes));
    }
    files
}
