//! Secrets at rest: outbound webhook and Slack URLs (which carry their
//! tokens in the path) are sealed with ChaCha20-Poly1305 under the
//! instance's key before they are stored, and opened only to deliver or
//! to show a redacted form. The same key, derived apart, signs the links
//! liveops sends out.
//!
//! The nonce is derived from the plaintext with HMAC-SHA256 (the SIV
//! construction), so one URL always seals to the same text: equality and
//! uniqueness checks keep working, and nothing but equality leaks.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::{aead, hmac, rand};

use crate::config::Config;

/// What every sealed value starts with.
pub const PREFIX: &str = "sealed:v1:";
/// The key file in the data directory, when `secret_key` is not set.
pub const KEY_FILE: &str = "secret.key";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("a sealed value is damaged or was sealed under another key (check LIVEOPS_SECRET_KEY)")]
    Open,
}

/// Seals and opens values under the instance key.
pub struct Sealer {
    aead: aead::LessSafeKey,
    nonce: hmac::Key,
    /// Signs the links liveops mails out (acknowledge from the page).
    links: hmac::Key,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}

fn derive(key: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&k, label);
    let mut out = [0u8; 32];
    out.copy_from_slice(&tag.as_ref()[..32]);
    out
}

impl Sealer {
    /// A sealer under a 32-byte key; encryption and nonce keys are derived
    /// from it apart.
    pub fn from_key(key: &[u8; 32]) -> Sealer {
        let enc = derive(key, b"liveops seal v1 encryption");
        let nonce = derive(key, b"liveops seal v1 nonce");
        let unbound = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, &enc)
            .unwrap_or_else(|_| unreachable!("ChaCha20-Poly1305 takes 32-byte keys"));
        let links = derive(key, b"liveops links v1 signature");
        Sealer {
            aead: aead::LessSafeKey::new(unbound),
            nonce: hmac::Key::new(hmac::HMAC_SHA256, &nonce),
            links: hmac::Key::new(hmac::HMAC_SHA256, &links),
        }
    }

    /// A signature over `data` under the instance key (base64url), for
    /// links that must prove liveops made them.
    pub fn sign_link(&self, data: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.links, data).as_ref())
    }

    /// Whether `signature` is `sign_link(data)`; in constant time.
    pub fn link_signed(&self, data: &[u8], signature: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|tag| hmac::verify(&self.links, data, &tag).is_ok())
    }

    /// The configured key (`secret_key`, base64 of 32 bytes), or the data
    /// directory's key file, made on first use. Every server sharing a
    /// PostgreSQL database must be given the same `secret_key`.
    pub fn load(config: &Config) -> anyhow::Result<Sealer> {
        if let Some(k) = &config.secret_key {
            return Ok(Sealer::from_key(
                &parse_key(k.expose()).context("secret_key")?,
            ));
        }
        let path = config.data_dir.join(KEY_FILE);
        Ok(Sealer::from_key(&key_file(&path)?))
    }

    /// Seals `plain`; a value already sealed is left as it is.
    pub fn seal(&self, plain: &str) -> String {
        if plain.starts_with(PREFIX) {
            return plain.to_owned();
        }
        let tag = hmac::sign(&self.nonce, plain.as_bytes());
        let mut nonce = [0u8; aead::NONCE_LEN];
        nonce.copy_from_slice(&tag.as_ref()[..aead::NONCE_LEN]);
        let mut data = plain.as_bytes().to_vec();
        // Sealing in place cannot fail for inputs under 256 GiB.
        if self
            .aead
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::empty(),
                &mut data,
            )
            .is_err()
        {
            unreachable!("ChaCha20-Poly1305 seals any value that fits in memory");
        }
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens a stored value; values stored before sealing existed pass
    /// through unchanged.
    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let raw = URL_SAFE_NO_PAD.decode(b64).map_err(|_| SealError::Open)?;
        if raw.len() < aead::NONCE_LEN + aead::CHACHA20_POLY1305.tag_len() {
            return Err(SealError::Open);
        }
        let (n, rest) = raw.split_at(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(n).map_err(|_| SealError::Open)?;
        let mut data = rest.to_vec();
        let plain = self
            .aead
            .open_in_place(nonce, aead::Aad::empty(), &mut data)
            .map_err(|_| SealError::Open)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::Open)
    }

    /// What people see of a stored URL or address: a URL with its
    /// token-like parts masked, an e-mail address whole.
    pub fn shown(&self, stored: &str) -> String {
        match self.open(stored) {
            Ok(plain) => redact(&plain),
            Err(_) => "(sealed under another key)".into(),
        }
    }
}

/// A URL with its token-like path segments and its query masked; anything
/// else as it is.
pub fn redact(plain: &str) -> String {
    match url::Url::parse(plain) {
        Ok(u) if u.host_str().is_some() && matches!(u.scheme(), "http" | "https") => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path: Vec<&str> = u
                .path()
                .split('/')
                .map(|seg| if token_like(seg) { "…" } else { seg })
                .collect();
            format!(
                "{}://{}{port}{}{}",
                u.scheme(),
                u.host_str().unwrap_or_default(),
                path.join("/"),
                if u.query().is_some() { "?…" } else { "" }
            )
        }
        _ => plain.to_owned(),
    }
}

/// Long segments, and shorter ones mixing digits in, are treated as
/// tokens or ids: Slack's, Discord's and most providers' hook secrets.
fn token_like(seg: &str) -> bool {
    let n = seg.chars().count();
    n >= 20 || (n >= 12 && seg.chars().any(|c| c.is_ascii_digit()))
}

fn parse_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = STANDARD
        .decode(text.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim()))
        .context("the key is not base64")?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("the key must be 32 bytes (44 characters of base64)"))
}

/// Reads the key file, or writes a new random key there (mode 0600).
fn key_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_key(&text).with_context(|| format!("{}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::SecureRandom::fill(&rand::SystemRandom::new(), &mut key)
                .map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("could not create {}", dir.display()))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut f) => {
                    writeln!(f, "{}", STANDARD.encode(key))
                        .and_then(|()| f.sync_all())
                        .with_context(|| format!("could not write {}", path.display()))?;
                    Ok(key)
                }
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => key_file(path),
                Err(e) => Err(e).with_context(|| format!("could not create {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_deterministically_and_opens() {
        let s = Sealer::from_key(&[7u8; 32]);
        let url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
        let sealed = s.seal(url);
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("SECRET"));
        assert_eq!(s.seal(url), sealed, "the same value seals the same");
        assert_eq!(s.seal(&sealed), sealed, "sealing twice is a no-op");
        assert_ne!(s.seal("https://example.com/other"), sealed);
        assert_eq!(s.open(&sealed).as_deref(), Ok(url));
        assert_eq!(s.open("plain text").as_deref(), Ok("plain text"));
        let other = Sealer::from_key(&[8u8; 32]);
        assert_eq!(other.open(&sealed), Err(SealError::Open));
        let mut broken = sealed.clone();
        broken.pop();
        broken.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(s.open(&broken), Err(SealError::Open));
        assert_eq!(s.open("sealed:v1:!!"), Err(SealError::Open));
        assert_eq!(s.open("sealed:v1:AAAA"), Err(SealError::Open));
    }

    #[test]
    fn shows_scheme_and_host_only() {
        let s = Sealer::from_key(&[1u8; 32]);
        assert_eq!(
            s.shown(&s.seal("https://hooks.example.com:8443/t/abc?k=1")),
            "https://hooks.example.com:8443/t/abc?…"
        );
        assert_eq!(
            s.shown(&s.seal(
                "https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D4E/abcdefghijklmnopqrstuvwx"
            )),
            "https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D4E/…"
        );
        assert_eq!(
            s.shown(&s.seal("https://example.com/")),
            "https://example.com/"
        );
        assert_eq!(s.shown("ann@example.com"), "ann@example.com");
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sub").join(KEY_FILE);
        let a = key_file(&path).expect("new key");
        let b = key_file(&path).expect("same key");
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").expect("write");
        assert!(key_file(&path).is_err());
        assert!(parse_key(&STANDARD.encode([0u8; 16])).is_err());
    }
}
