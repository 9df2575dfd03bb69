//! X.509 certificates read from PEM (one certificate or a chain, possibly
//! next to keys) or DER, down to what an expiry audit needs.

use sha2::{Digest, Sha256};
use x509_parser::error::PEMError;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;
use x509_parser::prelude::X509Certificate;

/// What an audit shows of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject's distinguished name, RFC 4514 style (`CN=…, O=…`).
    pub subject: String,
    pub issuer: String,
    /// The serial number in lower-case hex, without DER's sign byte.
    pub serial: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// The DNS names of the subject alternative name extension.
    pub dns_names: Vec<String>,
    /// Whether basic constraints allow the certificate to sign others.
    pub is_ca: bool,
    /// SHA-256 of the DER encoding, lower-case hex (what browsers show).
    pub sha256_fingerprint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum X509Error {
    #[error("no certificate found")]
    NoCertificate,
    #[error("PEM block {index}: {source}")]
    Pem {
        /// Counted from 1, in file order.
        index: usize,
        source: PEMError,
    },
    #[error("certificate {index}: {message}")]
    Certificate {
        /// Counted from 1, in file order.
        index: usize,
        message: String,
    },
}

/// PEM labels that hold a certificate. OpenSSL writes `TRUSTED CERTIFICATE`
/// for certificates with trust settings appended after the DER, which the
/// parser ignores.
const CERT_LABELS: [&str; 3] = ["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"];

/// Reads every certificate in `bytes`, which may be PEM (sniffed by its
/// `-----BEGIN ` marker) or a single DER certificate. Keys and other PEM
/// blocks are skipped; a file with no certificate at all is an error.
pub fn parse(bytes: &[u8]) -> Result<Vec<CertInfo>, X509Error> {
    if contains(bytes, b"-----BEGIN ") {
        parse_pem(bytes)
    } else {
        parse_der(bytes).map(|c| vec![c])
    }
}

/// Reads the certificates of a PEM file, in file order (a server's chain
/// lists the leaf first).
pub fn parse_pem(bytes: &[u8]) -> Result<Vec<CertInfo>, X509Error> {
    let mut certs = Vec::new();
    let mut undecodable = None;
    for (i, block) in Pem::iter_from_buffer(bytes).enumerate() {
        let index = i + 1;
        match block {
            Ok(pem) if CERT_LABELS.contains(&pem.label.as_str()) => {
                certs.push(info(&pem.contents, index)?);
            }
            Ok(_) => {}
            // Legacy encrypted keys carry `Proc-Type:` headers the decoder
            // reads as bad base64; the block's label is lost with the error,
            // so such a block only matters when nothing else was found.
            Err(PEMError::Base64DecodeError) => {
                undecodable.get_or_insert(X509Error::Pem {
                    index,
                    source: PEMError::Base64DecodeError,
                });
            }
            // A truncated file may have lost the end of a chain: say so.
            Err(source) => return Err(X509Error::Pem { index, source }),
        }
    }
    if certs.is_empty() {
        return Err(undecodable.unwrap_or(X509Error::NoCertificate));
    }
    Ok(certs)
}

/// Reads one DER-encoded certificate.
pub fn parse_der(der: &[u8]) -> Result<CertInfo, X509Error> {
    if der.is_empty() {
        return Err(X509Error::NoCertificate);
    }
    info(der, 1)
}

fn info(der: &[u8], index: usize) -> Result<CertInfo, X509Error> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| X509Error::Certificate {
            index,
            message: e.to_string(),
        })?;
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: serial_hex(cert.raw_serial()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        dns_names: dns_names(&cert),
        is_ca: cert.is_ca(),
        sha256_fingerprint: hex::encode(Sha256::digest(der)),
    })
}

fn dns_names(cert: &X509Certificate<'_>) -> Vec<String> {
    // A malformed extension is not this audit's concern: the names are
    // informative, the dates are what it checks.
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            _ => None,
        })
        .collect()
}

/// DER integers carry a leading zero byte when the high bit is set; tools
/// such as `openssl x509 -serial` print the number without it.
fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode(&raw[start..])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for two names, made fresh by rcgen.
    fn sample_pem() -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["liveops.test".into(), "www.liveops.test".into()])
                .expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "liveops.test");
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2026, 1, 1);
        params.self_signed(&key).expect("certificate").pem()
    }

    #[test]
    fn serial_numbers_drop_the_der_sign_byte() {
        assert_eq!(serial_hex(&[0x00, 0x9f, 0x01]), "9f01");
        assert_eq!(serial_hex(&[0x01]), "01");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn files_without_certificates_are_reported() {
        let key = format!(
            "-----BEGIN {0}-----\nMC4CAQAwBQYDK2VwBCIEIP8b\n-----END {0}-----\n",
            "PRIVATE KEY"
        );
        assert!(matches!(
            parse(key.as_bytes()),
            Err(X509Error::NoCertificate)
        ));
        assert!(matches!(parse(b""), Err(X509Error::NoCertificate)));
        assert!(matches!(
            parse(b"not a certificate"),
            Err(X509Error::Certificate { index: 1, .. })
        ));
    }

    #[test]
    fn truncated_pem_is_an_error() {
        let text = "-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert!(matches!(
            parse(text.as_bytes()),
            Err(X509Error::Pem { index: 1, .. })
        ));
    }

    #[test]
    fn a_certificate_next_to_its_key_is_read() {
        let key = format!(
            "-----BEGIN {0}-----\nMC4CAQAwBQYDK2VwBCIEIP8b\n-----END {0}-----\n",
            "PRIVATE KEY"
        );
        let pem = sample_pem();
        let text = format!("{key}{pem}");
        let certs = parse(text.as_bytes()).expect("parse");
        assert_eq!(certs.len(), 1);
        let c = &certs[0];
        assert_eq!(c.subject, "CN=liveops.test");
        assert_eq!(c.subject, c.issuer);
        assert_eq!(c.dns_names, ["liveops.test", "www.liveops.test"]);
        assert_eq!(c.not_before, 1_735_689_600);
        assert_eq!(c.not_after, 1_767_225_600);
        assert!(!c.is_ca);
        assert_eq!(c.sha256_fingerprint.len(), 64);
        // The same certificate as DER gives the same answer.
        let der = Pem::iter_from_buffer(pem.as_bytes())
            .next()
            .expect("one block")
            .expect("pem");
        assert_eq!(parse(&der.contents).expect("der"), certs);
    }
}
