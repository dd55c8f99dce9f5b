//! Per-address limits on guessable secrets (sign-in attempts), in front of the per-account
//! lockout: the lockout stops guessing one account's password, this stops one client trying
//! many accounts. Checked before any password work, so refused attempts cost no hashing.
//!
//! A window per address that begins with its first attempt and lasts a minute: at most
//! `sign_in_attempts_per_minute` attempts in it, API and Message Center together. The count is
//! kept in the database (`store::sign_in_attempts`), so nodes behind a balancer count as one:
//! guesses spread over nodes are limited as they would be on one. (Like any fixed window,
//! a client can make the allowance at the end of one window and again at the start of the
//! next: at most twice it in any 60 s.)
//!
//! What it costs per attempt: one upsert on the address's primary key, which both counts and
//! answers — on PostgreSQL one round trip in autocommit, on SQLite one turn of the writer and
//! the group commit's sync, shared with the writes around it: 0.2–0.4 ms per attempt on
//! either engine on the benchmark VM, against 16–24 ms for the password check that an
//! allowed attempt goes on to (`docs/PERFORMANCE.md`; `cargo run --release -p
//! sealpost-platform --example sign_in_limit`). Refused attempts are counted too (same
//! statement), so a client hammering away costs that much per request and no more. The table
//! holds one row per address seen in the last few minutes: the sweeper forgets windows that
//! are over. Windows are measured by each node's clock, which
//! only needs to agree with the others' to a second or so (NTP).
//!
//! Behind a load balancer every client would share the balancer's address: list the balancer
//! in `trusted_proxies` and [`client_of`] takes the client's address from `X-Forwarded-For`
//! instead — only when the request really comes from a trusted proxy, so nobody else can pick
//! their own address by sending the header.

use std::net::IpAddr;

use crate::db::{Db, now_ms};
use crate::store::{StoreError, sign_in_attempts};

/// How long a window lasts, ms.
const WINDOW_MS: i64 = 60_000;

/// Whether an attempt may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowance {
    /// Within the address's allowance.
    Allowed,
    /// Over it: try again in this many seconds (at least 1).
    Exceeded {
        /// When the window ends, in whole seconds from now.
        retry_after_secs: u64,
    },
}

/// Counts a sign-in attempt from `client`, of `per_minute` allowed in its window.
pub async fn sign_in_attempt(
    db: &Db,
    client: IpAddr,
    per_minute: u32,
) -> Result<Allowance, StoreError> {
    let now = now_ms();
    let (attempts, window_start) =
        sign_in_attempts::count(db, &client.to_string(), now, WINDOW_MS).await?;
    Ok(verdict(attempts, window_start, now, per_minute))
}

fn verdict(attempts: i64, window_start: i64, now: i64, per_minute: u32) -> Allowance {
    if attempts <= i64::from(per_minute) {
        return Allowance::Allowed;
    }
    let left_ms = (window_start + WINDOW_MS - now).clamp(0, WINDOW_MS);
    Allowance::Exceeded { retry_after_secs: (left_ms as u64).div_ceil(1000).max(1) }
}

/// Forgets windows that ended before `now` (ms); the sweeper calls it.
pub async fn forget_ended(db: &Db, now: i64) -> Result<u64, StoreError> {
    sign_in_attempts::forget_before(db, now - WINDOW_MS).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_address_gets_its_own_allowance_on_every_handle_of_the_database() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        // Two handles, as two processes on one database would have.
        let (one, two) =
            (Db::connect(&url).await.expect("db"), Db::connect(&url).await.expect("db"));
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "2001:db8::1".parse().expect("ip");
        for db in [&one, &two, &one] {
            assert_eq!(sign_in_attempt(db, a, 3).await.expect("count"), Allowance::Allowed);
        }
        let Allowance::Exceeded { retry_after_secs } =
            sign_in_attempt(&two, a, 3).await.expect("count")
        else {
            panic!("a fourth attempt in a minute, on the other handle, is refused");
        };
        assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}");
        assert_eq!(sign_in_attempt(&one, b, 3).await.expect("count"), Allowance::Allowed);
    }

    #[test]
    fn the_wait_is_what_is_left_of_the_window_in_whole_seconds() {
        assert_eq!(verdict(3, 0, 59_000, 3), Allowance::Allowed);
        assert_eq!(verdict(4, 0, 59_000, 3), Allowance::Exceeded { retry_after_secs: 1 });
        assert_eq!(verdict(4, 0, 100, 3), Allowance::Exceeded { retry_after_secs: 60 });
        assert_eq!(verdict(4, 0, 58_001, 3), Allowance::Exceeded { retry_after_secs: 2 });
        assert_eq!(
            verdict(1, 0, 0, 0),
            Allowance::Exceeded { retry_after_secs: 60 },
            "none allowed"
        );
    }
}

/// Most `X-Forwarded-For` entries looked at (from the right).
const MAX_FORWARDED_HOPS: usize = 16;

/// The client's address for a request from `peer` with `headers`: [`client_ip`] over every
/// `X-Forwarded-For` line, in order, as one list (RFC 9110 §5.3). A proxy that adds its own
/// line below one the client sent (haproxy's `option forwardfor` does) is read right: the
/// first line alone would be the client's own claim.
pub fn client_of(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let mut lines = Vec::new();
    for line in headers.get_all("x-forwarded-for") {
        match line.to_str() {
            Ok(line) => lines.push(line),
            // Not text: malformed, the peer's own address counts (the safe side).
            Err(_) => return client_ip(peer, Some(""), trusted),
        }
    }
    let joined = lines.join(",");
    client_ip(peer, (!lines.is_empty()).then_some(joined.as_str()), trusted)
}

/// The client's address for `request` ([`client_of`] its connection's peer and headers);
/// `None` when the server gave the request no peer address (a router served without
/// connection info, which the platform never is).
pub fn client_of_request(
    request: &axum::extract::Request,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let axum::extract::ConnectInfo(peer) =
        request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?;
    Some(client_of(peer.ip(), request.headers(), trusted))
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy. A malformed header counts
/// as absent (the proxy's own address is then limited, the safe side).
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else { return peer };
    let mut client = peer;
    for entry in header.rsplit(',').take(MAX_FORWARDED_HOPS) {
        match entry.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return peer,
        }
    }
    client
}

#[cfg(test)]
mod client_ip_tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter().map(|s| s.parse().expect("net")).collect()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let lb = nets(&["10.0.0.0/24", "192.0.2.7/32"]);
        // Not from a trusted proxy: the header is whatever the client claims, ignored.
        assert_eq!(client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &lb), ip("203.0.113.9"));
        // From the balancer: the right-most untrusted hop is the client.
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("1.2.3.4, 198.51.100.2"), &lb),
            ip("198.51.100.2")
        );
        // Through two trusted hops.
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("spoofed, 198.51.100.2, 192.0.2.7"), &lb),
            ip("198.51.100.2"),
            "entries left of the client are the client's own claims"
        );
        assert_eq!(client_ip(ip("10.0.0.5"), None, &lb), ip("10.0.0.5"));
        assert_eq!(client_ip(ip("10.0.0.5"), Some("not an address"), &lb), ip("10.0.0.5"));
        assert_eq!(client_ip(ip("10.0.0.5"), Some("2001:db8::1"), &lb), ip("2001:db8::1"));
        assert_eq!(client_ip(ip("10.0.0.5"), Some("1.2.3.4"), &[]), ip("10.0.0.5"), "none trusted");
    }

    #[test]
    fn every_forwarded_line_counts_so_a_line_the_client_sent_first_is_not_believed() {
        use axum::http::{HeaderMap, HeaderValue};
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let lb = nets(&["10.0.0.0/24"]);
        let mut headers = HeaderMap::new();
        // The client's own claim, then the line the balancer added.
        headers.append("x-forwarded-for", HeaderValue::from_static("198.51.100.77"));
        headers.append("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        assert_eq!(client_of(ip("10.0.0.5"), &headers, &lb), ip("203.0.113.9"));
        assert_eq!(client_of(ip("10.0.0.5"), &HeaderMap::new(), &lb), ip("10.0.0.5"));
        headers.append("x-forwarded-for", HeaderValue::from_bytes(b"\xff").expect("value"));
        assert_eq!(client_of(ip("10.0.0.5"), &headers, &lb), ip("10.0.0.5"), "malformed");
    }
}
