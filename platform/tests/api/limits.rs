//! What one client can hold open: a silent connection, half a request header, a stalled
//! upload body and more connections than its address may have are all ended; a client that
//! keeps within the bounds is served. Timeouts are set to a second here; the assertions only
//! say that the server ends things, never how fast.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use std::time::Duration;

use reqwest::StatusCode;
use sealpost_platform::domain::Role;

use crate::helpers::{TestApp, message, spawn_app_with};
use crate::support::{self, wait_for};

async fn app_with_short_timeouts(per_ip: usize) -> TestApp {
    spawn_app_with(|s| {
        s.tls_handshake_timeout_secs = 1;
        s.header_read_timeout_secs = 1;
        s.body_idle_timeout_secs = 1;
        s.max_connections_per_ip = per_ip;
    })
    .await
}

fn addr(app: &TestApp) -> std::net::SocketAddr {
    app.state.settings.listen
}

/// Whether the server closes `stream` (EOF or reset) within `bound` (a guard against a hang,
/// not a timing claim).
fn closed_by_server(stream: &mut impl Read, bound: Duration, start: std::time::Instant) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return start.elapsed() < bound,
            Ok(_) => continue, // an alert or a response; keep reading to the end
        }
    }
}

fn tls_client(app: &TestApp) -> rustls::ClientConnection {
    let mut roots = rustls::RootCertStore::empty();
    let pem = app._running.tls.cert_pem.clone();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("cert")).expect("root");
    }
    let config =
        rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().expect("name"))
        .expect("client")
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_and_half_sent_connections_are_dropped() {
    let app = app_with_short_timeouts(64).await;
    let to = addr(&app);
    let bound = Duration::from_secs(30);
    let tls = [tls_client(&app), tls_client(&app)];
    tokio::task::spawn_blocking(move || {
        let [quiet, half] = tls;
        // Connects and says nothing: the handshake deadline ends it.
        let start = std::time::Instant::now();
        let mut raw = TcpStream::connect(to).expect("connect");
        raw.set_read_timeout(Some(bound)).expect("timeout");
        assert!(closed_by_server(&mut raw, bound, start), "a silent TCP connection stays open");

        // Finishes TLS, then sends nothing.
        let start = std::time::Instant::now();
        let tcp = TcpStream::connect(to).expect("connect");
        tcp.set_read_timeout(Some(bound)).expect("timeout");
        let mut s = rustls::StreamOwned::new(quiet, tcp);
        s.flush().expect("handshake");
        assert!(closed_by_server(&mut s, bound, start), "a silent TLS connection stays open");

        // Sends half a request header.
        let start = std::time::Instant::now();
        let tcp = TcpStream::connect(to).expect("connect");
        tcp.set_read_timeout(Some(bound)).expect("timeout");
        let mut s = rustls::StreamOwned::new(half, tcp);
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n").expect("write");
        s.flush().expect("flush");
        assert!(closed_by_server(&mut s, bound, start), "half a header keeps the connection");
    })
    .await
    .expect("blocking");
    assert_eq!(app.get(None, "/healthz").await.status(), StatusCode::OK, "others are served");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_upload_body_ends_the_request_and_leaves_no_half_written_segment() {
    let app = app_with_short_timeouts(64).await;
    let token = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let m = message("alice@acme.example", &["bob@outside.example"], "Stalled", &key, 600_000);
    assert_eq!(app.post(Some(&token), "/api/v1/messages", m.slip.clone()).await.status(), 201);
    let (feed, body) = support::fed_body();
    let request = app.upload_request(&token, &m.id, 0, body).send();
    feed.send(bytes::Bytes::copy_from_slice(&m.envelope[..300_000])).await.expect("feed");
    // The sender stays connected and sends nothing more; `feed` is kept open.
    let answer = tokio::time::timeout(Duration::from_secs(60), request).await;
    let answer = answer.expect("the server ends a stalled upload");
    if let Ok(r) = answer {
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    drop(feed);
    let folder = app.state.settings.data_dir.join("envelopes");
    wait_for("the half-written segment to be removed", Duration::from_secs(20), || {
        support::walk(&folder).is_empty().then_some(())
    });
    // A slow upload that keeps moving is not cut: pieces a little apart, each well within it.
    let (feed, body) = support::fed_body();
    let request = tokio::spawn(app.upload_request(&token, &m.id, 0, body).send());
    for piece in m.envelope.chunks(m.envelope.len() / 4 + 1) {
        feed.send(bytes::Bytes::copy_from_slice(piece)).await.expect("feed");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    drop(feed);
    let r = request.await.expect("task").expect("upload");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_per_address_cap_are_refused_while_others_work() {
    let app = app_with_short_timeouts(2).await;
    let to = addr(&app);
    let held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(to).expect("connect")).collect();
    let mut third = TcpStream::connect(to).expect("the kernel accepts it");
    third.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let refused = tokio::task::spawn_blocking(move || {
        closed_by_server(&mut third, Duration::from_secs(30), std::time::Instant::now())
    })
    .await
    .expect("blocking");
    assert!(refused, "a third connection from one address is closed");
    drop(held);
    wait_for("a request to be served again", Duration::from_secs(20), || {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let r = app.client.get(app.url("/healthz")).send().await;
                r.ok().filter(|r| r.status() == StatusCode::OK).map(|_| ())
            })
        })
    });
}
