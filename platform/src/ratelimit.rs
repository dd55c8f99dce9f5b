//! Per-address limits on guessable secrets (sign-in attempts), in front of the per-account
//! lockout: the lockout stops guessing one account's password, this stops one client trying
//! many accounts. Checked before any password work, so refused attempts cost nothing.
//!
//! A fixed one-minute window per address, kept in memory on each node (a brake, not an exact
//! cluster-wide count). Memory is bounded: past [`MAX_TRACKED`] addresses, windows that have
//! ended are dropped, and if none have, the limiter refuses rather than grow.
//!
//! Behind a load balancer every client shares the balancer's address; trusting a forwarded
//! header needs the proxy to be configured as trusted, which is not built yet.

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
