//! Secrets liveops hands out: API tokens, ingest keys, session ids and
//! generated passwords. Only their SHA-256 hashes are stored; they are long
//! random strings, so a fast hash is enough (unlike passwords).

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// Personal API tokens start with this, so leaked ones are easy to grep for.
pub const TOKEN_PREFIX: &str = "lo_pat_";
/// Project ingest keys (the public browser key) start with this.
pub const INGEST_PREFIX: &str = "lo_ingest_";
/// Project server keys (OTLP) start with this.
pub const SERVER_PREFIX: &str = "lo_server_";
/// Inbound mail secrets start with this.
pub const MAIL_PREFIX: &str = "lo_mail_";

/// A freshly made secret: the value to show once, and what to store.
#[derive(Clone)]
pub struct Minted {
    pub secret: String,
    pub hash: String,
    pub hint: String,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minted")
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

pub fn random_string(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn mint(prefix: &str) -> Minted {
    let secret = format!("{prefix}{}", random_string(40));
    Minted {
        hash: hash(&secret),
        hint: secret.chars().take(prefix.len() + 6).collect(),
        secret,
    }
}

pub fn mint_token() -> Minted {
    mint(TOKEN_PREFIX)
}

pub fn mint_ingest_key() -> Minted {
    mint(INGEST_PREFIX)
}

/// A project key for `purpose`.
pub fn mint_key(purpose: liveops_store::projects::KeyPurpose) -> Minted {
    use liveops_store::projects::KeyPurpose;
    mint(match purpose {
        KeyPurpose::Browser => INGEST_PREFIX,
        KeyPurpose::Server => SERVER_PREFIX,
        KeyPurpose::Mail => MAIL_PREFIX,
    })
}

/// A password for a new account, printed once by `liveops user add`.
pub fn generate_password() -> String {
    random_string(24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_unique_and_hash_to_what_is_stored() {
        let a = mint_token();
        let b = mint_token();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(hash(&a.secret), a.hash);
        assert!(a.secret.starts_with(&a.hint) && a.hint.len() < a.secret.len() / 2);
        assert!(!format!("{a:?}").contains(&a.secret));
    }
}
