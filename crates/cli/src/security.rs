//! Audits: a project's audit log (client); vulnerable dependencies in
//! lockfiles against the offline OSV database (standalone on the data
//! directory, or recorded on a server with --project); and standalone
//! checks that need no server or data directory: certificate expiry in files
//! and on TLS endpoints, and secrets left in a tree of files. Also the `osv`
//! commands that load that database.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use liveops_core::security::secrets;
use liveops_server::contract::security::{
    CredentialView, ImportView, ScanView, VulnerabilityView, vulnerability_view,
};
use liveops_wire::x509::{self, CertInfo};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::{Value, json};

use crate::cli::{Format, Global};
use crate::{Exit, client, output};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The newest audit entries of a project (client).
    List {
        #[arg(long, value_name = "SLUG")]
        project: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Vulnerable packages in lockfiles (Cargo.lock, package-lock.json,
    /// yarn.lock, pnpm-lock.yaml, requirements*.txt, poetry.lock,
    /// Pipfile.lock, go.mod) against the OSV database: standalone on the
    /// data directory, or with --project on the server, which records the
    /// findings. Exits 1 when something at or above --fail-on is found, 2 on
    /// bad input. `--format sarif` writes a SARIF 2.1.0 log.
    Deps {
        #[arg(required = true, value_name = "LOCKFILE")]
        paths: Vec<PathBuf>,
        /// The lowest severity that fails the command.
        #[arg(long, value_enum, default_value_t = FailOn::Low)]
        fail_on: FailOn,
        /// Send the lockfiles to this project on the server and record the findings.
        #[arg(long, value_name = "SLUG")]
        project: Option<String>,
        /// The service the lockfiles belong to, with --project.
        #[arg(long, requires = "project")]
        service: Option<String>,
    },
    /// Certificates in files and directories (searched for .pem, .crt,
    /// .cer, .der and .cert files), soonest expiry first; exits 1 when one
    /// is expired or expires within the warning window, 2 when a path
    /// cannot be read (standalone).
    Certs {
        /// Files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Warn about certificates that expire within this many days.
        #[arg(long, default_value_t = 30, value_name = "DAYS")]
        warn_days: i64,
        /// Also add the certificates to this project's credential inventory
        /// on the server, which warns before they expire.
        #[arg(long, value_name = "SLUG", requires = "owner")]
        project: Option<String>,
        /// Who renews them, with --project.
        #[arg(long)]
        owner: Option<String>,
    },
    /// The certificate chains TLS servers present, and whether they chain
    /// to a trusted root (Mozilla's, as bundled, plus any --ca); exits 1 when a chain is untrusted or a certificate
    /// is expired or expires within the warning window, 2 when a host
    /// cannot be reached (standalone).
    Tls {
        /// Servers as HOST:PORT (the port defaults to 443).
        #[arg(required = true, value_name = "HOST:PORT")]
        targets: Vec<String>,
        /// The name to send as SNI and verify the certificate against
        /// (default: HOST).
        #[arg(long, value_name = "NAME")]
        servername: Option<String>,
        /// Give up on a server after this many seconds.
        #[arg(long, default_value_t = 10, value_name = "SECONDS")]
        timeout: u64,
        /// Warn about certificates that expire within this many days.
        #[arg(long, default_value_t = 30, value_name = "DAYS")]
        warn_days: i64,
        /// Also trust the CA certificates in this PEM file (a private CA).
        #[arg(long, value_name = "FILE")]
        ca: Vec<PathBuf>,
    },
    /// Secrets in files and directories (credentials of well-known formats
    /// and literal passwords, tokens and keys), shown masked; skips .git,
    /// target, node_modules, binary files and files over 5 MB; exits 1 when
    /// one is found (standalone). A line containing `liveops:allow` is
    /// skipped.
    Secrets {
        /// Files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Also record what is found as findings of this project on the
        /// server (masked, as a SARIF log of the tool `liveops-secrets`).
        #[arg(long, value_name = "SLUG")]
        project: Option<String>,
        /// The service the tree belongs to, with --project.
        #[arg(long, requires = "project")]
        service: Option<String>,
    },
}

pub async fn run_audit(g: &Global, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::List { project, limit } => client::audit_list(g, &project, limit).await,
        AuditCommand::Deps {
            paths,
            fail_on,
            project,
            service,
        } => audit_deps(g, paths, fail_on, project, service).await,
        AuditCommand::Certs {
            paths,
            warn_days,
            project,
            owner,
        } => {
            if let (Some(project), Some(owner)) = (project, owner) {
                upload_certs(g, &paths, &project, &owner).await?;
            }
            certs(g, &paths, warn_days)
        }
        AuditCommand::Tls {
            targets,
            servername,
            timeout,
            warn_days,
            ca,
        } => {
            tls(
                g,
                &targets,
                servername.as_deref(),
                Duration::from_secs(timeout),
                warn_days,
                &ca,
            )
            .await
        }
        AuditCommand::Secrets {
            paths,
            project,
            service,
        } => {
            let found = secrets_in(g, &paths);
            if let Some(project) = project {
                record_secrets(g, &paths, &project, service.as_deref()).await?;
            }
            found
        }
    }
}

/// Exit 2 for input problems already printed one by one, so that one bad
/// path among many does not hide the results for the others.
fn already_reported_bad_input() -> anyhow::Error {
    anyhow::Error::new(Exit {
        code: 2,
        error: None,
    })
}

// ---- files ----------------------------------------------------------------

/// Directories no audit looks into: version control internals, build output
/// and installed packages, none of which a person edits.
const SKIP_DIRS: [&str; 3] = [".git", "target", "node_modules"];

const CERT_EXTENSIONS: [&str; 5] = ["pem", "crt", "cer", "der", "cert"];

/// A file to audit, and whether the user named it (so a problem with it is
/// bad input) or a directory walk found it (so a problem is a warning).
struct Found {
    path: PathBuf,
    named: bool,
}

/// The files under `paths` that `keep` accepts; named files are kept
/// whatever their name. A path that cannot be read is an error.
fn collect_files(paths: &[PathBuf], keep: &dyn Fn(&Path) -> bool) -> anyhow::Result<Vec<Found>> {
    let mut out = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            let mut walked = Vec::new();
            walk(path, keep, &mut walked);
            walked.sort();
            out.extend(walked.into_iter().map(|path| Found { path, named: false }));
        } else {
            out.push(Found {
                path: path.clone(),
                named: true,
            });
        }
    }
    Ok(out)
}

/// Depth-first walk that neither follows symbolic links (which may loop)
/// nor stops at an unreadable subdirectory: it says so and goes on.
fn walk(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("warning: skipping {}: {e}", dir.display());
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            let skipped = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| SKIP_DIRS.contains(&n));
            if !skipped {
                walk(&path, keep, out);
            }
        } else if kind.is_file() && keep(&path) {
            out.push(path);
        }
    }
}

// ---- certificates -----------------------------------------------------------

/// One certificate and where it came from.
struct Seen {
    /// A file, or HOST:PORT.
    source: String,
    /// Place in its file or chain, from 0 (a server's leaf).
    position: usize,
    info: CertInfo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    NotYetValid,
    Expired,
    Expiring(i64),
    Ok,
}

impl Status {
    fn of(info: &CertInfo, now: i64, warn_days: i64) -> Status {
        let days = days_left(info, now);
        if info.not_before > now {
            Status::NotYetValid
        } else if info.not_after <= now {
            Status::Expired
        } else if days < warn_days {
            Status::Expiring(days)
        } else {
            Status::Ok
        }
    }

    fn is_finding(self) -> bool {
        self != Status::Ok
    }

    fn text(self) -> String {
        match self {
            Status::NotYetValid => "not yet valid".into(),
            Status::Expired => "expired".into(),
            Status::Expiring(0) => "expires today".into(),
            Status::Expiring(1) => "expires in 1 day".into(),
            Status::Expiring(n) => format!("expires in {n} days"),
            Status::Ok => "ok".into(),
        }
    }
}

/// Whole days until expiry, rounded down; negative once expired.
fn days_left(info: &CertInfo, now: i64) -> i64 {
    (info.not_after - now).div_euclid(86_400)
}

fn rfc3339(unix: i64) -> String {
    jiff::Timestamp::from_second(unix).map_or_else(|_| unix.to_string(), |t| t.to_string())
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The certificates as rows and JSON, soonest expiry first; true when one
/// of them is a finding.
fn cert_report(
    source_header: &str,
    seen: &mut [Seen],
    warn_days: i64,
) -> (Vec<Vec<String>>, Vec<Value>, bool) {
    let now = now_unix();
    seen.sort_by(|a, b| {
        (a.info.not_after, &a.source, a.position).cmp(&(b.info.not_after, &b.source, b.position))
    });
    let mut rows = Vec::new();
    let mut list = Vec::new();
    let mut findings = false;
    for s in seen.iter() {
        let c = &s.info;
        let status = Status::of(c, now, warn_days);
        findings |= status.is_finding();
        let days = days_left(c, now);
        rows.push(vec![
            s.source.clone(),
            c.subject.clone(),
            if c.dns_names.is_empty() {
                "-".into()
            } else {
                c.dns_names.join(",")
            },
            rfc3339(c.not_after),
            days.to_string(),
            status.text(),
        ]);
        list.push(json!({
            (source_header): s.source, "position": s.position,
            "subject": c.subject, "issuer": c.issuer, "serial": c.serial,
            "dns_names": c.dns_names, "is_ca": c.is_ca,
            "not_before": rfc3339(c.not_before), "not_after": rfc3339(c.not_after),
            "days_left": days, "status": status.text(), "ok": !status.is_finding(),
            "sha256_fingerprint": c.sha256_fingerprint,
        }));
    }
    (rows, list, findings)
}

fn print_cert_table(source_header: &str, rows: &[Vec<String>]) {
    output::table(
        Format::Table,
        &Value::Null,
        &[
            source_header,
            "SUBJECT",
            "DNS NAMES",
            "NOT AFTER",
            "DAYS",
            "STATUS",
        ],
        rows,
    );
}

fn certs(g: &Global, paths: &[PathBuf], warn_days: i64) -> anyhow::Result<()> {
    let is_cert_file = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| CERT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
    };
    let files = collect_files(paths, &is_cert_file).map_err(Exit::bad_input)?;
    let mut seen = Vec::new();
    let mut bad = false;
    for f in &files {
        let read = std::fs::read(&f.path)
            .with_context(|| format!("cannot read {}", f.path.display()))
            .and_then(|bytes| x509::parse(&bytes).with_context(|| format!("{}", f.path.display())));
        match read {
            Ok(infos) => seen.extend(infos.into_iter().enumerate().map(|(position, info)| Seen {
                source: f.path.display().to_string(),
                position,
                info,
            })),
            Err(e) if f.named => {
                eprintln!("error: {e:#}");
                bad = true;
            }
            // A key next to its certificate is the usual reason.
            Err(e) => eprintln!("warning: skipping {e:#}"),
        }
    }
    let (rows, list, findings) = cert_report("file", &mut seen, warn_days);
    if g.format == Format::Json {
        println!("{}", json!({"certificates": list, "warn_days": warn_days}));
    } else {
        print_cert_table("FILE", &rows);
    }
    summary(&seen, warn_days);
    if bad {
        return Err(already_reported_bad_input());
    }
    if findings {
        return Err(Exit::verdict());
    }
    Ok(())
}

fn summary(seen: &[Seen], warn_days: i64) {
    let now = now_unix();
    let statuses: Vec<Status> = seen
        .iter()
        .map(|s| Status::of(&s.info, now, warn_days))
        .collect();
    let expired = statuses.iter().filter(|s| **s == Status::Expired).count();
    let expiring = statuses
        .iter()
        .filter(|s| matches!(s, Status::Expiring(_)))
        .count();
    eprintln!(
        "{} certificates: {expired} expired, {expiring} expiring within {warn_days} days",
        seen.len()
    );
}

// ---- TLS --------------------------------------------------------------------

/// A verifier that accepts any chain, so that expired, self-signed and
/// misissued certificates can still be fetched and shown; trust is judged
/// separately afterwards. Handshake signatures are still checked, so the
/// chain shown is the one the server holds the key for.
#[derive(Debug)]
struct AcceptAnyChain(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyChain {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What one server presented.
struct Presented {
    target: String,
    chain: Vec<CertificateDer<'static>>,
    /// `None` when the chain verifies against the roots, else why not.
    untrusted: Option<String>,
}

/// Splits `HOST:PORT`, `HOST` (port 443) or `[IPV6]:PORT`.
fn host_port(target: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| anyhow!("{target}: missing `]`"))?;
        (host, after.strip_prefix(':'))
    } else {
        match target.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => bail!("{target}: write IPv6 addresses as [ADDRESS]:PORT"),
            None => (target, None),
        }
    };
    if host.is_empty() {
        bail!("{target}: no host");
    }
    let port = match port {
        Some(p) => p
            .parse()
            .with_context(|| format!("{target}: bad port {p:?}"))?,
        None => 443,
    };
    Ok((host.to_owned(), port))
}

/// What `tls` made of one target.
#[derive(Debug)]
enum HostOutcome {
    /// No chain was fetched.
    Unreachable { host: String, error: String },
    /// A chain was fetched; `untrusted` says why it does not verify.
    Reached {
        host: String,
        untrusted: Option<String>,
        chain_length: usize,
    },
}

impl HostOutcome {
    /// The host as `--format json` lists it.
    fn json(&self) -> Value {
        match self {
            HostOutcome::Unreachable { host, error } => json!({"host": host, "error": error}),
            HostOutcome::Reached {
                host,
                untrusted,
                chain_length,
            } => json!({"host": host, "trusted": untrusted.is_none(),
                "reason": untrusted, "chain_length": chain_length}),
        }
    }

    /// The host's verdict as one line for people.
    fn line(&self) -> String {
        match self {
            HostOutcome::Unreachable { host, error } => format!("{host}  unreachable: {error}"),
            HostOutcome::Reached {
                host,
                untrusted: None,
                ..
            } => format!("{host}  trusted"),
            HostOutcome::Reached {
                host,
                untrusted: Some(why),
                ..
            } => format!("{host}  untrusted: {why}"),
        }
    }
}

async fn fetch_chain(
    target: &str,
    servername: Option<&str>,
    timeout: Duration,
    roots: Arc<RootCertStore>,
) -> anyhow::Result<Presented> {
    let (host, port) = host_port(target)?;
    let name = servername.unwrap_or(&host).to_owned();
    let server_name =
        ServerName::try_from(name.clone()).with_context(|| format!("bad server name {name:?}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS configuration")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyChain(provider.clone())))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .with_context(|| format!("cannot connect to {target}"))?;
        connector
            .connect(server_name.clone(), tcp)
            .await
            .with_context(|| format!("TLS handshake with {target} failed"))
    };
    let stream = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| anyhow!("{target}: no answer within {}s", timeout.as_secs()))??;
    let chain: Vec<CertificateDer<'static>> = stream
        .get_ref()
        .1
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    let Some((leaf, intermediates)) = chain.split_first() else {
        bail!("{target} presented no certificate");
    };
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
        .build()
        .context("certificate verifier")?;
    let untrusted = verifier
        .verify_server_cert(leaf, intermediates, &server_name, &[], UnixTime::now())
        .err()
        .map(|e| e.to_string());
    Ok(Presented {
        target: target.to_owned(),
        chain,
        untrusted,
    })
}

/// The public web's roots (the same set liveops' own HTTP client trusts,
/// so the answer does not depend on the machine running the audit), plus
/// any CA files given.
fn root_store(ca: &[PathBuf]) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for path in ca {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&bytes) {
            let cert = cert.with_context(|| format!("{}", path.display()))?;
            roots
                .add(cert)
                .with_context(|| format!("{}: unusable CA certificate", path.display()))?;
            added += 1;
        }
        if added == 0 {
            bail!("{}: no certificate found", path.display());
        }
    }
    Ok(roots)
}

async fn tls(
    g: &Global,
    targets: &[String],
    servername: Option<&str>,
    timeout: Duration,
    warn_days: i64,
    ca: &[PathBuf],
) -> anyhow::Result<()> {
    let roots = Arc::new(root_store(ca).map_err(Exit::bad_input)?);
    let mut seen = Vec::new();
    let mut hosts = Vec::new();
    let mut bad = false;
    let mut untrusted_any = false;
    for target in targets {
        let presented = match fetch_chain(target, servername, timeout, roots.clone()).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e:#}");
                hosts.push(HostOutcome::Unreachable {
                    host: target.clone(),
                    error: format!("{e:#}"),
                });
                bad = true;
                continue;
            }
        };
        for (position, der) in presented.chain.iter().enumerate() {
            match x509::parse_der(der) {
                Ok(info) => seen.push(Seen {
                    source: presented.target.clone(),
                    position,
                    info,
                }),
                Err(e) => eprintln!("warning: {target}: certificate {position}: {e}"),
            }
        }
        untrusted_any |= presented.untrusted.is_some();
        hosts.push(HostOutcome::Reached {
            chain_length: presented.chain.len(),
            host: presented.target,
            untrusted: presented.untrusted,
        });
    }
    let (rows, list, findings) = cert_report("host", &mut seen, warn_days);
    if g.format == Format::Json {
        let hosts: Vec<Value> = hosts.iter().map(HostOutcome::json).collect();
        println!(
            "{}",
            json!({"certificates": list, "hosts": hosts, "warn_days": warn_days})
        );
    } else {
        if !rows.is_empty() {
            print_cert_table("HOST", &rows);
            println!();
        }
        for h in &hosts {
            println!("{}", h.line());
        }
    }
    summary(&seen, warn_days);
    if bad {
        return Err(already_reported_bad_input());
    }
    if findings || untrusted_any {
        return Err(Exit::verdict());
    }
    Ok(())
}

// ---- secrets ------------------------------------------------------------------

/// Larger files are data or build output, not configuration.
const MAX_SECRET_FILE: u64 = 5 * 1024 * 1024;

/// Git's heuristic: a NUL byte near the start means binary.
fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|&b| b == 0)
}

fn secrets_in(g: &Global, paths: &[PathBuf]) -> anyhow::Result<()> {
    let files = collect_files(paths, &|_| true).map_err(Exit::bad_input)?;
    let mut findings = Vec::new();
    let mut scanned = 0usize;
    let mut bad = false;
    for f in &files {
        let display = f.path.display().to_string();
        let size = std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
        if size > MAX_SECRET_FILE {
            continue;
        }
        let bytes = match std::fs::read(&f.path) {
            Ok(b) => b,
            Err(e) if f.named => {
                eprintln!("error: cannot read {display}: {e}");
                bad = true;
                continue;
            }
            Err(e) => {
                eprintln!("warning: skipping {display}: {e}");
                continue;
            }
        };
        if looks_binary(&bytes) {
            continue;
        }
        scanned += 1;
        let text = String::from_utf8_lossy(&bytes);
        findings.extend(
            secrets::scan(&text)
                .into_iter()
                .map(|hit| (display.clone(), hit)),
        );
    }
    if g.format == Format::Json {
        let list: Vec<Value> = findings
            .iter()
            .map(|(file, h)| {
                json!({"file": file, "line": h.line, "column": h.column, "rule": h.rule,
                    "masked": h.masked, "entropy": (h.entropy * 100.0).round() / 100.0})
            })
            .collect();
        println!("{}", json!({"findings": list, "files_scanned": scanned}));
    } else {
        for (file, h) in &findings {
            println!("{file}:{}:{} {} {}", h.line, h.column, h.rule, h.masked);
        }
    }
    let mut with_secrets: Vec<&str> = findings.iter().map(|(f, _)| f.as_str()).collect();
    with_secrets.dedup();
    eprintln!(
        "{} secrets in {} of {scanned} files",
        findings.len(),
        with_secrets.len()
    );
    if bad {
        return Err(already_reported_bad_input());
    }
    if !findings.is_empty() {
        return Err(Exit::verdict());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_host_and_port() {
        let ok = |t: &str| host_port(t).expect(t);
        assert_eq!(ok("example.org:8443"), ("example.org".into(), 8443));
        assert_eq!(ok("example.org"), ("example.org".into(), 443));
        assert_eq!(ok("[::1]:8443"), ("::1".into(), 8443));
        assert_eq!(ok("127.0.0.1:1"), ("127.0.0.1".into(), 1));
        for bad in ["::1:443", ":443", "host:port", "[::1"] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_counts_whole_days_and_warns_inside_the_window() {
        let cert = |not_before: i64, not_after: i64| CertInfo {
            subject: String::new(),
            issuer: String::new(),
            serial: String::new(),
            not_before,
            not_after,
            dns_names: Vec::new(),
            is_ca: false,
            sha256_fingerprint: String::new(),
        };
        let day = 86_400;
        let now = 100 * day;
        assert_eq!(Status::of(&cert(0, now - 1), now, 30), Status::Expired);
        assert_eq!(Status::of(&cert(0, now), now, 30), Status::Expired);
        assert_eq!(Status::of(&cert(0, now + 1), now, 30), Status::Expiring(0));
        assert_eq!(
            Status::of(&cert(0, now + 10 * day + 5), now, 30),
            Status::Expiring(10)
        );
        assert_eq!(Status::of(&cert(0, now + 30 * day), now, 30), Status::Ok);
        assert_eq!(
            Status::of(&cert(now + 1, now + 90 * day), now, 30),
            Status::NotYetValid
        );
        assert_eq!(Status::Expiring(10).text(), "expires in 10 days");
    }
}

/// The offline OSV database (standalone: works on the data directory or
/// database directly, also while the server runs).
#[derive(Debug, Subcommand)]
pub enum OsvCommand {
    /// Load OSV records from a directory of JSON files or an ecosystem
    /// `all.zip`; records already loaded with the same `modified` are left
    /// alone, so a refresh only writes what changed.
    Import {
        /// Directories or zip files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// What the database holds, per ecosystem.
    Status,
}

pub async fn run_osv(g: &Global, cmd: OsvCommand) -> anyhow::Result<()> {
    let (_, db) = crate::admin::open(g).await?;
    match cmd {
        OsvCommand::Import { paths } => {
            let mut total = liveops_store::security::OsvImported::default();
            let mut skipped = Vec::new();
            let bar = crate::output::progress(g.format, "importing OSV advisories", "records");
            for path in &paths {
                let mut records = liveops_wire::osv::Records::open(path)
                    .with_context(|| format!("could not open {}", path.display()))
                    .map_err(Exit::bad_input)?;
                let mut batch = Vec::new();
                loop {
                    let next = records.next_with_text();
                    if let Some((a, text)) = &next {
                        batch.push(liveops_server::security::osv_row(a, text));
                        bar.inc(1);
                    }
                    if batch.len() >= 500 || (next.is_none() && !batch.is_empty()) {
                        let done = db
                            .import_osv(
                                &batch,
                                liveops_server::clock::Clock::now_ms(
                                    &liveops_server::clock::SystemClock,
                                ),
                            )
                            .await?;
                        total.added += done.added;
                        total.updated += done.updated;
                        total.unchanged += done.unchanged;
                        batch.clear();
                    }
                    if next.is_none() {
                        break;
                    }
                }
                skipped.extend(records.skipped().iter().map(ToString::to_string));
            }
            bar.finish_and_clear();
            crate::output::record(
                g.format,
                &[
                    ("added", json!(total.added)),
                    ("updated", json!(total.updated)),
                    ("unchanged", json!(total.unchanged)),
                    ("skipped", json!(skipped)),
                ],
            );
        }
        OsvCommand::Status => {
            let counts = db.osv_counts().await?;
            let v = json!(
                counts
                    .iter()
                    .map(|(e, n)| json!({"ecosystem": e, "advisories": n}))
                    .collect::<Vec<_>>()
            );
            let rows: Vec<Vec<String>> = counts
                .iter()
                .map(|(e, n)| vec![e.clone(), n.to_string()])
                .collect();
            crate::output::table(g.format, &v, &["ECOSYSTEM", "ADVISORIES"], &rows);
        }
    }
    db.close().await;
    Ok(())
}

/// The severities `--fail-on` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
    /// Never fail on what is found.
    Never,
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        // Unknown severity counts as low: it is still a known vulnerability.
        _ => 1,
    }
}

fn fail_rank(f: FailOn) -> u8 {
    match f {
        FailOn::Low => 1,
        FailOn::Medium => 2,
        FailOn::High => 3,
        FailOn::Critical => 4,
        FailOn::Never => u8::MAX,
    }
}

/// `audit deps`: lockfiles against the OSV database, locally or on a server.
async fn audit_deps(
    g: &Global,
    paths: Vec<PathBuf>,
    fail_on: FailOn,
    project: Option<String>,
    service: Option<String>,
) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for p in &paths {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("could not read {}", p.display()))
            .map_err(Exit::bad_input)?;
        files.push((p.display().to_string(), text));
    }
    let vulns: Vec<VulnerabilityView> = match &project {
        Some(project) => {
            let c = crate::client::Client::new(g)?;
            let body = json!({"service": service, "files": files.iter()
                .map(|(name, text)| json!({"name": name, "text": text})).collect::<Vec<_>>()});
            let v: ScanView = c
                .call_as(
                    reqwest::Method::POST,
                    &format!("/api/v1/projects/{project}/security/scans"),
                    Some(body),
                )
                .await?;
            eprintln!(
                "recorded for {project}: {} opened, {} reopened, {} fixed",
                v.opened.len(),
                v.reopened.len(),
                v.fixed.len()
            );
            v.vulnerabilities
        }
        None => {
            let locks = liveops_server::security::read_lockfiles(&files)
                .map_err(|e| Exit::bad_input(e.into()))?;
            let (_, db) = crate::admin::open(g).await?;
            if db.osv_counts().await?.is_empty() {
                db.close().await;
                return Err(Exit::bad_input(anyhow::anyhow!(
                    "the OSV database is empty: load it first with `liveops osv import PATH`"
                )));
            }
            let found = liveops_server::security::audit(&db, &locks).await?;
            db.close().await;
            found.iter().map(vulnerability_view).collect()
        }
    };
    match g.format {
        Format::Json => println!("{}", json!(vulns)),
        Format::Sarif => {
            let results: Vec<liveops_wire::sarif::DependencyResult<'_>> = vulns
                .iter()
                .map(|v| liveops_wire::sarif::DependencyResult {
                    advisory: &v.advisory,
                    summary: &v.summary,
                    severity: &v.severity,
                    score: v.score,
                    package: &v.package,
                    version: &v.version,
                    fix: v.fix.as_deref(),
                    file: &v.file,
                    line: v.line,
                })
                .collect();
            println!(
                "{}",
                liveops_wire::sarif::write_sarif(env!("CARGO_PKG_VERSION"), &results)
            );
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = vulns
                .iter()
                .map(|v| {
                    vec![
                        v.severity.clone(),
                        format!("{} {}", v.package, v.version),
                        v.advisory.clone(),
                        v.aliases.join(" "),
                        v.fix.clone().unwrap_or_else(|| "-".into()),
                        v.upgrade.clone().unwrap_or_else(|| "-".into()),
                        v.summary.clone(),
                    ]
                })
                .collect();
            crate::output::table(
                g.format,
                &json!(vulns),
                &[
                    "SEVERITY",
                    "PACKAGE",
                    "ADVISORY",
                    "ALIASES",
                    "FIXED IN",
                    "UPGRADE TO",
                    "SUMMARY",
                ],
                &rows,
            );
            eprintln!("{} vulnerable package version(s)", vulns.len());
        }
    }
    let worst = vulns
        .iter()
        .map(|v| severity_rank(&v.severity))
        .max()
        .unwrap_or(0);
    if worst >= fail_rank(fail_on) && !vulns.is_empty() {
        return Err(Exit::verdict());
    }
    Ok(())
}

/// Adds the certificates found under `paths` to a project's inventory.
async fn upload_certs(
    g: &Global,
    paths: &[PathBuf],
    project: &str,
    owner: &str,
) -> anyhow::Result<()> {
    let is_cert_file = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| CERT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
    };
    let files = collect_files(paths, &is_cert_file).map_err(Exit::bad_input)?;
    let c = client::Client::new(g)?;
    let owner: String = url::form_urlencoded::byte_serialize(owner.as_bytes()).collect();
    let mut added = 0;
    for f in &files {
        let Ok(bytes) = std::fs::read(&f.path) else {
            continue;
        };
        if x509::parse(&bytes).is_err() {
            continue;
        }
        let stored: Vec<CredentialView> = c
            .call_raw_as(
                reqwest::Method::POST,
                &format!("/api/v1/projects/{project}/security/certificates?owner={owner}"),
                "text/plain",
                bytes,
            )
            .await?;
        added += stored.len();
    }
    eprintln!("{added} certificate(s) in the inventory of {project}");
    Ok(())
}

/// Records the secrets found under `paths` as a project's findings, masked.
async fn record_secrets(
    g: &Global,
    paths: &[PathBuf],
    project: &str,
    service: Option<&str>,
) -> anyhow::Result<()> {
    let files = collect_files(paths, &|_| true).map_err(Exit::bad_input)?;
    let mut results = Vec::new();
    for f in &files {
        let Ok(bytes) = std::fs::read(&f.path) else {
            continue;
        };
        if bytes.len() as u64 > MAX_SECRET_FILE || looks_binary(&bytes) {
            continue;
        }
        let file = f.path.display().to_string();
        for h in secrets::scan(&String::from_utf8_lossy(&bytes)) {
            results.push(json!({
                "ruleId": h.rule,
                "level": "error",
                "message": {"text": format!("A {} is committed in {file} ({})", h.rule, h.masked)},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": file},
                    "region": {"startLine": h.line, "startColumn": h.column}}}],
                "partialFingerprints": {"secret": format!("{}:{file}:{}", h.rule, h.masked)},
            }));
        }
    }
    let log = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "liveops-secrets",
        "rules": []}}, "results": results}]});
    let service: String =
        url::form_urlencoded::byte_serialize(service.unwrap_or("default").as_bytes()).collect();
    let v: ImportView = client::Client::new(g)?
        .call_raw_as(
            reqwest::Method::POST,
            &format!("/api/v1/projects/{project}/security/sarif?service={service}"),
            "application/sarif+json",
            log.to_string().into_bytes(),
        )
        .await?;
    eprintln!(
        "recorded for {project}: {} opened, {} fixed",
        v.opened.len(),
        v.fixed.len()
    );
    Ok(())
}
