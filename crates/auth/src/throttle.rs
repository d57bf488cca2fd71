//! Login throttling: growing delays and temporary lockouts after failed
//! logins, counted per client IP and per user name.
//!
//! Pure logic: the caller passes the time as milliseconds from any monotonic
//! clock (`now_ms`), so the behaviour is testable without sleeping and the
//! server can use its executor's timer. Memory is bounded: each table keeps
//! at most [`ThrottleConfig::max_entries`] entries and forgets the least
//! recently used one beyond that.
//!
//! The server keeps one `Throttle` per shard (nothing is shared between
//! cores); a client spreading attempts over `n` shards gets at most `n`
//! times the budget, since SO_REUSEPORT spreads its connections.
//!
//! Use:
//! 1. [`Throttle::check`] before verifying: refuse at once on
//!    [`Decision::Locked`]; otherwise wait `delay_ms` (executor timer) before
//!    answering, so a client cannot outrun the delay by pipelining.
//! 2. After verifying, [`Throttle::record_failure`] or
//!    [`Throttle::record_success`].
//!
//! A success resets the user's counter but not the IP's, so an attacker who
//! owns one account cannot use it to wipe the IP's record between guesses.
//! IPv6 clients are counted per /64, the block one subscriber usually holds.

use std::net::IpAddr;
use std::num::NonZeroUsize;

use lru::LruCache;

use crate::username::MAX_USERNAME_LEN;

/// Throttle settings. The defaults suit a public IMAP/POP3 server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Delay after the first failure; doubles with each further failure.
    pub base_delay_ms: u64,
    /// Ceiling for the delay.
    pub max_delay_ms: u64,
    /// Failures are forgotten once this long has passed since the last one.
    pub window_ms: u64,
    /// Failures within the window that lock a user name (0: never).
    pub user_lockout_failures: u32,
    /// Failures within the window that lock an IP (0: never).
    pub ip_lockout_failures: u32,
    /// How long a lockout lasts.
    pub lockout_ms: u64,
    /// Most entries kept per table (IPs, users).
    pub max_entries: usize,
}

impl Default for ThrottleConfig {
    /// 1 s, 2 s, 4 s, ... up to 15 s; a user name is locked for 15 minutes
    /// after 10 failures, an IP after 30; failures are forgotten after 15
    /// quiet minutes; 100 000 entries per table (a few MiB).
    fn default() -> Self {
        ThrottleConfig {
            base_delay_ms: 1_000,
            max_delay_ms: 15_000,
            window_ms: 15 * 60 * 1000,
            user_lockout_failures: 10,
            ip_lockout_failures: 30,
            lockout_ms: 15 * 60 * 1000,
            max_entries: 100_000,
        }
    }
}

/// What to do with a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead after waiting `delay_ms` (0: no wait).
    Allow { delay_ms: u64 },
    /// Refuse without checking the password; try again in `retry_after_ms`.
    Locked { retry_after_ms: u64 },
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    last_failure_ms: u64,
    locked_until_ms: u64,
}

impl Entry {
    /// The entry as seen at `now`: stale failures are forgotten.
    fn current(self, now: u64, window: u64) -> Entry {
        let quiet = now.saturating_sub(self.last_failure_ms) >= window;
        if quiet && now >= self.locked_until_ms {
            Entry::default()
        } else {
            self
        }
    }
}

/// Failure counters for one shard.
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    ips: LruCache<IpAddr, Entry>,
    users: LruCache<String, Entry>,
}

fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            // An IPv4-mapped address is the IPv4 client it maps.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

fn user_key(user: &str) -> String {
    // Bounded even for names that would fail validation.
    let mut end = user.len().min(MAX_USERNAME_LEN);
    while !user.is_char_boundary(end) {
        end -= 1;
    }
    user.get(..end).unwrap_or_default().to_ascii_lowercase()
}

impl Throttle {
    pub fn new(config: ThrottleConfig) -> Self {
        let cap = NonZeroUsize::new(config.max_entries).unwrap_or(NonZeroUsize::MIN);
        Throttle {
            ips: LruCache::new(cap),
            users: LruCache::new(cap),
            config,
        }
    }

    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    fn delay_for(&self, failures: u32) -> u64 {
        if failures == 0 {
            return 0;
        }
        let doublings = (failures - 1).min(63);
        self.config
            .base_delay_ms
            .saturating_mul(1u64 << doublings)
            .min(self.config.max_delay_ms)
    }

    fn decide(&self, ip: Entry, user: Entry, now: u64) -> Decision {
        let locked_until = ip.locked_until_ms.max(user.locked_until_ms);
        if locked_until > now {
            return Decision::Locked {
                retry_after_ms: locked_until - now,
            };
        }
        Decision::Allow {
            delay_ms: self.delay_for(ip.failures.max(user.failures)),
        }
    }

    fn ip_entry(&self, ip: IpAddr, now: u64) -> Entry {
        self.ips
            .peek(&ip_key(ip))
            .map(|e| e.current(now, self.config.window_ms))
            .unwrap_or_default()
    }

    fn user_entry(&self, user: &str, now: u64) -> Entry {
        self.users
            .peek(&user_key(user))
            .map(|e| e.current(now, self.config.window_ms))
            .unwrap_or_default()
    }

    /// What to do with an attempt by `user` from `ip` at `now_ms`. Does not
    /// change any counter.
    pub fn check(&self, ip: IpAddr, user: &str, now_ms: u64) -> Decision {
        self.decide(
            self.ip_entry(ip, now_ms),
            self.user_entry(user, now_ms),
            now_ms,
        )
    }

    /// Counts a failed login and returns the decision for the next attempt
    /// (which may be a lockout that starts now).
    pub fn record_failure(&mut self, ip: IpAddr, user: &str, now_ms: u64) -> Decision {
        let bump = |mut e: Entry, threshold: u32, lockout_ms: u64| {
            e.failures = e.failures.saturating_add(1);
            e.last_failure_ms = now_ms;
            if threshold > 0 && e.failures >= threshold {
                e.locked_until_ms = now_ms.saturating_add(lockout_ms);
                // The lockout replaces the count: afterwards the delays start over.
                e.failures = 0;
            }
            e
        };
        let ip_e = bump(
            self.ip_entry(ip, now_ms),
            self.config.ip_lockout_failures,
            self.config.lockout_ms,
        );
        let user_e = bump(
            self.user_entry(user, now_ms),
            self.config.user_lockout_failures,
            self.config.lockout_ms,
        );
        self.ips.put(ip_key(ip), ip_e);
        self.users.put(user_key(user), user_e);
        self.decide(ip_e, user_e, now_ms)
    }

    /// Counts a successful login: the user's failures are forgotten.
    pub fn record_success(&mut self, _ip: IpAddr, user: &str, _now_ms: u64) {
        self.users.pop(&user_key(user));
    }

    /// Number of IPs and users currently tracked.
    pub fn tracked(&self) -> (usize, usize) {
        (self.ips.len(), self.users.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const IP2: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn allow(ms: u64) -> Decision {
        Decision::Allow { delay_ms: ms }
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let mut t = Throttle::new(ThrottleConfig {
            user_lockout_failures: 0,
            ip_lockout_failures: 0,
            ..ThrottleConfig::default()
        });
        assert_eq!(t.check(IP, "ann", 0), allow(0));
        let mut seen = Vec::new();
        for i in 0..8 {
            seen.push(t.record_failure(IP, "ann", i * 10));
        }
        assert_eq!(
            seen,
            [
                allow(1000),
                allow(2000),
                allow(4000),
                allow(8000),
                allow(15000),
                allow(15000),
                allow(15000),
                allow(15000)
            ]
        );
        assert_eq!(t.check(IP, "ANN", 100), allow(15000));
        // Another user from the same IP inherits the IP's delay.
        assert_eq!(t.check(IP, "bob", 100), allow(15000));
        // The same user from another IP inherits the user's delay.
        assert_eq!(t.check(IP2, "ann", 100), allow(15000));
        assert_eq!(t.check(IP2, "bob", 100), allow(0));
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_window() {
        let cfg = ThrottleConfig::default();
        let w = cfg.window_ms;
        let mut t = Throttle::new(cfg);
        t.record_failure(IP, "ann", 1_000);
        t.record_failure(IP, "ann", 2_000);
        assert_eq!(t.check(IP, "ann", 2_000 + w - 1), allow(2000));
        assert_eq!(t.check(IP, "ann", 2_000 + w), allow(0));
        // Counting starts over.
        assert_eq!(t.record_failure(IP, "ann", 2_000 + w), allow(1000));
    }

    #[test]
    fn user_lockout_and_expiry() {
        let cfg = ThrottleConfig {
            user_lockout_failures: 3,
            ip_lockout_failures: 0,
            lockout_ms: 60_000,
            ..ThrottleConfig::default()
        };
        let mut t = Throttle::new(cfg);
        t.record_failure(IP, "ann", 0);
        t.record_failure(IP2, "ann", 1);
        assert_eq!(
            t.record_failure(IP, "ann", 10),
            Decision::Locked {
                retry_after_ms: 60_000
            }
        );
        // Locked from any IP, in any case.
        assert_eq!(
            t.check(IP2, "Ann", 30_010),
            Decision::Locked {
                retry_after_ms: 30_000
            }
        );
        // Other users are not locked, but the IP's failures still delay them.
        assert_eq!(t.check(IP2, "bob", 30_010), allow(1000));
        // Expired.
        assert!(matches!(
            t.check(IP2, "ann", 60_010),
            Decision::Allow { .. }
        ));
    }

    #[test]
    fn ip_lockout_covers_all_users_and_ipv6_slash_64() {
        let mut t = Throttle::new(ThrottleConfig {
            ip_lockout_failures: 4,
            user_lockout_failures: 0,
            lockout_ms: 1_000,
            ..ThrottleConfig::default()
        });
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        for (i, ip) in [a, b, a, b].into_iter().enumerate() {
            t.record_failure(ip, &format!("user{i}"), 5);
        }
        assert_eq!(
            t.check(a, "someone", 5),
            Decision::Locked {
                retry_after_ms: 1_000
            }
        );
        assert!(matches!(t.check(b, "x", 5), Decision::Locked { .. }));
        assert_eq!(t.check(other, "x", 5), allow(0));
        // IPv4-mapped IPv6 is the IPv4 address.
        t.record_failure("::ffff:192.0.2.1".parse().unwrap(), "z", 0);
        assert_eq!(t.check(IP, "q", 0), allow(1000));
    }

    #[test]
    fn success_resets_the_user_but_not_the_ip() {
        let mut t = Throttle::new(ThrottleConfig::default());
        t.record_failure(IP, "ann", 0);
        t.record_failure(IP, "ann", 0);
        t.record_success(IP, "ANN", 1);
        assert_eq!(t.check(IP2, "ann", 2), allow(0));
        assert_eq!(t.check(IP, "bob", 2), allow(2000));
    }

    #[test]
    fn memory_is_bounded() {
        let mut t = Throttle::new(ThrottleConfig {
            max_entries: 100,
            ..ThrottleConfig::default()
        });
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(i.into());
            t.record_failure(ip, &format!("u{i}"), u64::from(i));
        }
        assert_eq!(t.tracked(), (100, 100));
        // The most recent ones are kept, the oldest forgotten.
        assert_eq!(
            t.check(IpAddr::V4(9_999u32.into()), "u9999", 10_000),
            allow(1000)
        );
        assert_eq!(t.check(IpAddr::V4(0u32.into()), "u0", 10_000), allow(0));
        // Overlong or odd user names are still bounded keys.
        let long = "é".repeat(1000);
        t.record_failure(IP, &long, 20_000);
        assert_eq!(t.check(IP2, &long, 20_000), allow(1000));
    }

    #[test]
    fn clock_going_backwards_does_not_panic_or_unlock_early() {
        let mut t = Throttle::new(ThrottleConfig {
            user_lockout_failures: 1,
            lockout_ms: 1_000,
            ..ThrottleConfig::default()
        });
        t.record_failure(IP, "ann", 10_000);
        assert!(matches!(t.check(IP, "ann", 5_000), Decision::Locked { .. }));
    }
}
