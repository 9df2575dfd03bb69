//! Sign-in throttling. Failed sign-ins are counted in a sliding window that
//! forgets them on its own; past a few failures each further attempt has to
//! wait, twice as long each time, up to a ceiling. Nothing ever locks an
//! account for good, and nothing depends on whether the address has an
//! account, so the answers reveal nothing about who has one.
//!
//! Three counters, as OWASP's authentication guidance suggests: the account
//! from one address (tight: one attacker at one address), the address over
//! all accounts (password spraying), and the account from everywhere (loose,
//! so that an attacker at one address cannot keep the owner out from
//! another). The counters live in the state database, so several servers
//! share them.

use std::net::IpAddr;

use liveops_store::{Db, Result};

/// How long a failure counts.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// The first delay, doubled for every further failure.
const BASE_DELAY_MS: i64 = 1000;
/// The longest anyone waits after a failure.
pub const MAX_DELAY_MS: i64 = 5 * 60 * 1000;

/// One counter: its subject and how many failures in the window are free.
struct Counter {
    subject: String,
    free: i64,
}

fn counters(email: &str, ip: IpAddr) -> [Counter; 3] {
    let email = email.trim().to_lowercase();
    [
        Counter {
            subject: format!("pair:{email}|{ip}"),
            free: 5,
        },
        Counter {
            subject: format!("ip:{ip}"),
            free: 20,
        },
        Counter {
            subject: format!("email:{email}"),
            free: 50,
        },
    ]
}

/// How long after the last failure the next attempt waits, after `failures`
/// failures in the window of which `free` cost nothing.
pub fn delay_ms(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(20);
    BASE_DELAY_MS
        .saturating_mul(1 << doublings)
        .min(MAX_DELAY_MS)
}

/// Milliseconds the caller must still wait before an attempt for `email`
/// from `ip` counts; 0 when it may try now.
pub async fn wait_ms(db: &Db, email: &str, ip: IpAddr, now: i64) -> Result<i64> {
    let mut wait = 0;
    for c in counters(email, ip) {
        let (n, last) = db.login_failures(&c.subject, now - WINDOW_MS).await?;
        if let Some(last) = last {
            wait = wait.max(last + delay_ms(n, c.free) - now);
        }
    }
    Ok(wait.max(0))
}

/// Counts a failed attempt on every counter.
pub async fn failed(db: &Db, email: &str, ip: IpAddr, now: i64) -> Result<()> {
    let cs = counters(email, ip);
    let subjects: Vec<&str> = cs.iter().map(|c| c.subject.as_str()).collect();
    db.record_login_failure(&subjects, now).await
}

/// A good sign-in clears the account's counters from this address (the
/// address's own counter keeps what other accounts cost it).
pub async fn succeeded(db: &Db, email: &str, ip: IpAddr) -> Result<()> {
    let [pair, _, _] = counters(email, ip);
    db.clear_login_failures(&pair.subject).await?;
    Ok(())
}

/// Forgets every failure of an account, from any address: an
/// administrator's unlock. Returns how many were forgotten.
pub async fn unlock(db: &Db, email: &str) -> Result<u64> {
    let email = email.trim().to_lowercase();
    let mut n = db.clear_login_failures(&format!("email:{email}")).await?;
    n += db
        .clear_login_failures_starting(&format!("pair:{email}|"))
        .await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_the_free_failures_up_to_the_ceiling() {
        assert_eq!(delay_ms(0, 5), 0);
        assert_eq!(delay_ms(4, 5), 0);
        assert_eq!(delay_ms(5, 5), 1000);
        assert_eq!(delay_ms(6, 5), 2000);
        assert_eq!(delay_ms(9, 5), 16_000);
        assert_eq!(delay_ms(14, 5), MAX_DELAY_MS);
        assert_eq!(delay_ms(10_000, 5), MAX_DELAY_MS);
    }
}
