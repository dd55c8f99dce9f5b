//! Per-address limits on guessable secrets (sign-in attempts), in front of the per-account
//! lockout: the lockout stops guessing one account's password, this stops one client trying
//! many accounts. Checked before any password work, so refused attempts cost nothing.
//!
//! A fixed one-minute window per address, kept in memory on each node (a brake, not an exact
//! cluster-wide count). Memory is bounded: past [`MAX_TRACKED`] addresses, windows that have
//! ended are dropped, and if none have, the limiter refuses rather than grow.
//!
//! Behind a load balancer every client would share the balancer's address: list the balancer
//! in `trusted_proxies` and [`client_ip`] takes the client's address from `X-Forwarded-For`
//! instead — only when the request really comes from a trusted proxy, so nobody else can pick
//! their own address by sending the header.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most addresses tracked at once.
pub const MAX_TRACKED: usize = 100_000;
const WINDOW: Duration = Duration::from_secs(60);

/// Counts attempts per address per minute.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// Allows `per_minute` attempts per address per minute.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt from `addr`; `Err(seconds)` says when to try again.
    pub fn check(&self, addr: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&addr) {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if windows.len() >= MAX_TRACKED {
                return Err(WINDOW.as_secs());
            }
        }
        let (start, count) = windows.entry(addr).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= self.per_minute {
            let wait = WINDOW.saturating_sub(now.duration_since(*start));
            return Err(wait.as_secs().max(1));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_own_allowance() {
        let limiter = RateLimiter::new(3);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        let wait = limiter.check(a).expect_err("fourth attempt in a minute");
        assert!((1..=60).contains(&wait));
        assert!(limiter.check(b).is_ok(), "another address is not affected");
    }
}

/// Most `X-Forwarded-For` entries looked at (from the right).
const MAX_FORWARDED_HOPS: usize = 16;

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
}
