//! Signatures on what liveops sends and checks on what it receives:
//! HMAC-SHA256 over the exact body, as GitHub (`X-Hub-Signature-256`) and
//! most webhook senders do, written `sha256=<hex>`.

use ring::hmac;

/// The header liveops' own signed deliveries carry.
pub const SIGNATURE_HEADER: &str = "x-liveops-signature";

/// `sha256=<hex of HMAC-SHA256(key, body)>`.
pub fn sign(key: &str, body: &[u8]) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    format!("sha256={}", hex::encode(hmac::sign(&k, body).as_ref()))
}

/// Whether `signature` (`sha256=<hex>`, or the bare hex) is the HMAC of
/// `body` under `key`; the comparison takes constant time.
pub fn verify(key: &str, body: &[u8], signature: &str) -> bool {
    let given = signature.trim();
    let given = given.strip_prefix("sha256=").unwrap_or(given);
    let Ok(raw) = hex::decode(given) else {
        return false;
    };
    let k = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    hmac::verify(&k, body, &raw).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_refuse() {
        // RFC 4231 test case 2.
        let sig = sign("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify("Jefe", b"what do ya want for nothing?", &sig));
        assert!(verify(
            "Jefe",
            b"what do ya want for nothing?",
            sig.trim_start_matches("sha256=")
        ));
        assert!(!verify("Jefe", b"what do ya want for nothing!", &sig));
        assert!(!verify("jefe", b"what do ya want for nothing?", &sig));
        assert!(!verify("Jefe", b"x", "sha256=zz"));
    }
}
