//! Standalone security audits as a person runs them: certificates on disk
//! and on a TLS server (generated here with rcgen), and secrets planted in a
//! git repository.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::cli::Place;
use crate::releases::git;

const DAY: u64 = 86_400;

fn place() -> Place {
    Place {
        dir: tempfile::tempdir().expect("tempdir"),
        database_url: None,
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Seconds since 1970 at `days` from now (negative: in the past).
fn unix_days_from_now(days: i64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let day = i64::try_from(DAY).expect("small");
    Duration::from_secs(now.checked_add_signed(days * day).expect("in range"))
}

/// Parameters for a certificate for `names`, valid from `from` to `to` days
/// from now.
fn params(cn: &str, names: &[&str], from: i64, to: i64) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut p = CertificateParams::new(names).expect("params");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    // rcgen takes `time` values; build them from the epoch so that this
    // test needs no date crate of its own.
    p.not_before = rcgen::date_time_ymd(1970, 1, 1) + unix_days_from_now(from);
    p.not_after = rcgen::date_time_ymd(1970, 1, 1) + unix_days_from_now(to);
    p
}

/// A self-signed certificate and its key.
fn self_signed(cn: &str, names: &[&str], from: i64, to: i64) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let cert = params(cn, names, from, to)
        .self_signed(&key)
        .expect("certificate");
    (cert, key)
}

/// A CA valid for two years and a leaf it signed, valid for a year.
struct Chain {
    ca: rcgen::Certificate,
    leaf: rcgen::Certificate,
    leaf_key: KeyPair,
}

fn chain(leaf_names: &[&str]) -> Chain {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = params("liveops test CA", &[], -1, 730);
    ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = params("chain leaf", leaf_names, -1, 365)
        .signed_by(&leaf_key, &issuer)
        .expect("leaf");
    Chain { ca, leaf, leaf_key }
}

fn write(path: &Path, contents: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, contents).expect("write");
}

/// The table row that mentions `needle`.
fn row<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle:?} in:\n{text}"))
}

#[test]
fn audit_certs_lists_soonest_expiry_first_and_fails_on_expired_or_expiring() {
    let place = place();
    let dir = place.dir.path().join("certs");
    let (soon, _) = self_signed("soon.test", &["soon.test", "www.soon.test"], -80, 10);
    let (old, _) = self_signed("old.test", &["old.test"], -400, -3);
    let (year, _) = self_signed("year.test", &["year.test"], -1, 365);
    let c = chain(&["app.test"]);
    write(&dir.join("soon.pem"), soon.pem());
    write(&dir.join("nested/old.crt"), old.pem());
    write(&dir.join("year.der"), year.der());
    write(
        &dir.join("chain.cert"),
        format!("{}{}", c.leaf.pem(), c.ca.pem()),
    );
    // A key next to the certificates, not a certificate: a warning only.
    write(&dir.join("app-key.pem"), c.leaf_key.serialize_pem());
    // Not certificate files, or not looked into.
    write(&dir.join("notes.txt"), "nothing here");
    write(&dir.join("node_modules/dep/old.pem"), old.pem());

    let dir_arg = dir.to_str().expect("utf-8 path");
    let out = place.run(&["audit", "certs", dir_arg]);
    let text = stdout(&out);
    assert_eq!(code(&out), Some(1), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("FILE"), "{text}");
    assert_eq!(lines.len(), 6, "header and five certificates:\n{text}");
    // Soonest expiry first.
    assert!(lines[1].contains("old.crt") && lines[1].ends_with("expired"));
    let soon_row = row(&text, "soon.pem");
    assert_eq!(lines[2], soon_row);
    assert!(soon_row.contains("soon.test,www.soon.test"), "{soon_row}");
    assert!(
        soon_row.ends_with("expires in 9 days") || soon_row.ends_with("expires in 10 days"),
        "{soon_row}"
    );
    assert!(row(&text, "year.der").ends_with("ok"));
    assert!(row(&text, "CN=chain leaf").contains("app.test"));
    assert!(row(&text, "CN=liveops test CA").ends_with("ok"));
    assert!(!text.contains("node_modules"), "{text}");
    assert!(
        stderr(&out).contains("app-key.pem: no certificate found"),
        "{}",
        stderr(&out)
    );

    let out = place.run(&["audit", "certs", dir_arg, "--format", "json"]);
    assert_eq!(code(&out), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let certs = v["certificates"].as_array().expect("certificates");
    assert_eq!(certs.len(), 5);
    assert_eq!(certs[0]["status"], "expired");
    assert_eq!(certs[0]["ok"], false);
    assert!(certs[0]["days_left"].as_i64().expect("days") < 0);
    assert_eq!(certs[1]["dns_names"][1], "www.soon.test");
    assert!(certs[1]["not_after"].as_str().expect("date").ends_with('Z'));
    let ca = certs
        .iter()
        .find(|c| c["subject"] == "CN=liveops test CA")
        .expect("ca listed");
    assert_eq!(ca["is_ca"], true);
    assert_eq!(ca["position"], 1);
    assert_eq!(ca["sha256_fingerprint"].as_str().map(str::len), Some(64));

    // Healthy certificates only: clean.
    let year_arg = dir.join("year.der");
    let chain_arg = dir.join("chain.cert");
    let out = place.run(&[
        "audit",
        "certs",
        year_arg.to_str().expect("path"),
        chain_arg.to_str().expect("path"),
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // A narrower window lets the soon-expiring one pass.
    let soon_arg = dir.join("soon.pem");
    let soon_arg = soon_arg.to_str().expect("path");
    let out = place.run(&["audit", "certs", soon_arg, "--warn-days", "5"]);
    assert_eq!(code(&out), Some(0), "{}", stdout(&out));
    let out = place.run(&["audit", "certs", soon_arg, "--warn-days", "30"]);
    assert_eq!(code(&out), Some(1));
}

#[test]
fn audit_certs_rejects_paths_it_cannot_use() {
    let place = place();
    let missing = place.dir.path().join("missing.pem");
    let out = place.run(&["audit", "certs", missing.to_str().expect("path")]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));

    // A file named on the command line must hold a certificate.
    let key = place.dir.path().join("key.pem");
    write(&key, KeyPair::generate().expect("key").serialize_pem());
    let out = place.run(&["audit", "certs", key.to_str().expect("path")]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("no certificate found"),
        "{}",
        stderr(&out)
    );
}

/// A TLS server on loopback presenting `chain`, answering any number of
/// handshakes; returns its port.
async fn tls_server(chain: Vec<CertificateDer<'static>>, key: &KeyPair) -> u16 {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 64];
                    let _ = tls.read(&mut buf).await;
                }
            });
        }
    });
    port
}

async fn run_async(place: &Place, args: &[&str]) -> Output {
    tokio::process::Command::from(place.cmd(args))
        .output()
        .await
        .expect("run liveops")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_tls_shows_an_untrusted_expiring_chain_and_a_trusted_one() {
    let place = place();
    let (cert, key) = self_signed("localhost", &["localhost"], -80, 10);
    let port = tls_server(vec![cert.der().clone()], &key).await;
    let target = format!("127.0.0.1:{port}");

    let out = run_async(
        &place,
        &["audit", "tls", &target, "--servername", "localhost"],
    )
    .await;
    let text = stdout(&out);
    assert_eq!(code(&out), Some(1), "{text}{}", stderr(&out));
    assert!(text.starts_with("HOST"), "{text}");
    let leaf = row(&text, "CN=localhost");
    assert!(leaf.starts_with(&target), "{leaf}");
    assert!(leaf.contains("expires in"), "{leaf}");
    assert!(
        row(&text, &format!("{target}  untrusted")).contains("UnknownIssuer"),
        "{text}"
    );

    // A chain from a CA the audit is told to trust, valid for a year.
    let c = chain(&["localhost"]);
    let ca_file = place.dir.path().join("ca.pem");
    write(&ca_file, c.ca.pem());
    let port = tls_server(vec![c.leaf.der().clone(), c.ca.der().clone()], &c.leaf_key).await;
    let good = format!("127.0.0.1:{port}");
    let ca_arg = ca_file.to_str().expect("path");
    let args = [
        "audit",
        "tls",
        &good,
        "--servername",
        "localhost",
        "--ca",
        ca_arg,
    ];
    let out = run_async(&place, &args).await;
    let text = stdout(&out);
    assert_eq!(code(&out), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains(&format!("{good}  trusted")), "{text}");

    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let out = run_async(&place, &json_args).await;
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["hosts"][0]["trusted"], true);
    assert_eq!(v["hosts"][0]["chain_length"], 2);
    let certs = v["certificates"].as_array().expect("certificates");
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0]["subject"], "CN=chain leaf");
    assert_eq!(certs[0]["host"], good.as_str());
    assert_eq!(certs[0]["position"], 0);
    assert_eq!(certs[1]["is_ca"], true);

    // The same server under a name its certificate does not carry.
    let out = run_async(
        &place,
        &[
            "audit",
            "tls",
            &good,
            "--servername",
            "other.test",
            "--ca",
            ca_arg,
        ],
    )
    .await;
    assert_eq!(code(&out), Some(1));
    assert!(stdout(&out).contains("untrusted"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_tls_reports_an_unreachable_host_as_bad_input() {
    let place = place();
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let target = format!("127.0.0.1:{port}");
    let out = run_async(&place, &["audit", "tls", &target, "--timeout", "5"]).await;
    assert_eq!(code(&out), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));
}

#[test]
fn audit_secrets_finds_planted_credentials_masked_with_file_and_line() {
    let place = place();
    let repo = place.dir.path().join("shop");
    std::fs::create_dir_all(&repo).expect("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    // Assembled here so this test file holds no credential-shaped text.
    let github = ["gh", "p_", "Q7mZ2xKp9LwR4tVb8NcY3hJf6GdS5aUe1Ho0"].concat();
    let aws = ["AK", "IA", "Q3ZJ7XW2LMNB5KPD"].concat();
    let config = format!(
        "# deploy settings\n[github]\ntoken = \"{github}\"\n\n[aws]\naccess_key_id = \"{aws}\"\nregion = \"eu-west-1\"\n"
    );
    write(&repo.join("config/deploy.toml"), &config);
    write(
        &repo.join("README.md"),
        "Set `password = \"changeme\"` and `token = \"${GITHUB_TOKEN}\"`.\n",
    );
    // Skipped: installed packages, binary files, and a reviewed exception.
    write(
        &repo.join("node_modules/pkg/index.js"),
        format!("const t = \"{github}\";\n"),
    );
    let mut binary = b"\x00\x01ELF".to_vec();
    binary.extend(github.as_bytes());
    write(&repo.join("assets/blob.bin"), binary);
    write(
        &repo.join("docs/example.env"),
        format!("GITHUB_TOKEN={github} # liveops:allow\n"),
    );
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "chore: deploy config"]);

    let repo_arg = repo.to_str().expect("path");
    let out = place.run(&["audit", "secrets", repo_arg]);
    let text = stdout(&out);
    assert_eq!(code(&out), Some(1), "{text}{}", stderr(&out));
    let file = repo.join("config/deploy.toml").display().to_string();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            format!("{file}:3:10 github-pat ghp_****"),
            format!("{file}:6:18 aws-access-key-id AKIA****"),
        ]
    );
    for stream in [&text, &stderr(&out)] {
        assert!(!stream.contains(&github[4..]) && !stream.contains(&aws[4..]));
    }

    let out = place.run(&["audit", "secrets", repo_arg, "--format", "json"]);
    assert_eq!(code(&out), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let findings = v["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0]["file"], file.as_str());
    assert_eq!(findings[0]["line"], 3);
    assert_eq!(findings[0]["rule"], "github-pat");
    assert_eq!(findings[1]["masked"], "AKIA****");
    assert!(findings[0]["entropy"].as_f64().expect("entropy") > 4.0);

    // Clean once the secrets move to the environment.
    write(
        &repo.join("config/deploy.toml"),
        "[github]\ntoken = \"${GITHUB_TOKEN}\"\n",
    );
    let out = place.run(&["audit", "secrets", repo_arg]);
    assert_eq!(code(&out), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "");

    let missing = place.dir.path().join("nowhere");
    let out = place.run(&["audit", "secrets", missing.to_str().expect("path")]);
    assert_eq!(code(&out), Some(2));
}

// ---------------------------------------------------------------- dependencies

/// The real advisories: `LIVEOPS_OSV_DIR`, or `shared/osv` beside the
/// checkout (scripts/setup.sh exports the variable when it finds them).
fn osv_dir() -> String {
    std::env::var("LIVEOPS_OSV_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/osv").to_owned())
}

const PACKAGE_LOCK: &str = r#"{
  "name": "shop-web",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "shop-web",
      "version": "1.0.0"
    },
    "node_modules/express": {
      "version": "4.19.2",
      "resolved": "https://registry.npmjs.org/express/-/express-4.19.2.tgz"
    },
    "node_modules/lodash": {
      "version": "4.17.15",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz"
    },
    "node_modules/minimist": {
      "version": "1.2.5",
      "resolved": "https://registry.npmjs.org/minimist/-/minimist-1.2.5.tgz"
    },
    "node_modules/qs": {
      "version": "6.5.2",
      "resolved": "https://registry.npmjs.org/qs/-/qs-6.5.2.tgz"
    },
    "node_modules/semver": {
      "version": "7.5.2",
      "resolved": "https://registry.npmjs.org/semver/-/semver-7.5.2.tgz"
    }
  }
}"#;

const YARN_LOCK: &str = "# yarn lockfile v1\n\n\
lodash@^4.17.21:\n  version \"4.17.21\"\n  resolved \"https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz\"\n\n\
minimist@^1.2.6:\n  version \"1.2.6\"\n";

const CARGO_LOCK: &str = "version = 3\n\n\
[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
[[package]]\nname = \"smallvec\"\nversion = \"1.6.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
[[package]]\nname = \"time\"\nversion = \"0.1.43\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
[[package]]\nname = \"time\"\nversion = \"0.2.23\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

const REQUIREMENTS: &str = "# pinned by pip-compile\nrequests==2.19.1\nJinja2==2.10 ; python_version >= \"3.6\"\nBeaker==1.6.4\nDjango==3.2.14rc1\nclick>=8\n";

const POETRY_LOCK: &str = "[[package]]\nname = \"requests\"\nversion = \"2.32.0\"\ndescription = \"HTTP\"\noptional = false\npython-versions = \">=3.8\"\n\n\
[[package]]\nname = \"jinja2\"\nversion = \"2.11.3\"\ndescription = \"templates\"\noptional = false\npython-versions = \"*\"\n\n\
[metadata]\nlock-version = \"2.0\"\npython-versions = \"^3.11\"\ncontent-hash = \"abc\"\n";

const GO_MOD: &str = "module example.com/shop\n\ngo 1.26.0\n\nrequire (\n\
\tgithub.com/gin-gonic/gin v1.6.3\n\
\tgithub.com/docker/distribution v2.6.2+incompatible\n\
\tgolang.org/x/net v0.0.0-20190125091012-d26f9f9a57f3 // indirect\n)\n";

/// The go.mod one pseudo-version later: past GO-2020-0014's fix.
const GO_MOD_FIXED: &str = "module example.com/shop\n\ngo 1.26.0\n\nrequire (\n\
\tgithub.com/docker/distribution v2.7.0+incompatible\n\
\tgolang.org/x/net v0.0.0-20190125091013-d26f9f9a57f3\n)\n";

fn import_osv(place: &Place) {
    let ecosystems: Vec<String> = ["crates.io", "npm", "PyPI", "Go"]
        .iter()
        .map(|e| format!("{}/{e}", osv_dir()))
        .collect();
    let mut args = vec!["osv", "import", "--format", "json"];
    args.extend(ecosystems.iter().map(String::as_str));
    let out = place.run(&args);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["added"], 8188, "every record of the shared data: {v}");
    assert_eq!(v["skipped"], serde_json::json!([]));
    // A second import changes nothing: a refresh writes only what changed.
    let again = place.run(&args);
    let v: Value = serde_json::from_str(&stdout(&again)).expect("json");
    assert_eq!(
        (v["added"].as_u64(), v["unchanged"].as_u64()),
        (Some(0), Some(8188))
    );
}

/// (package, version) → advisory ids, leaving the Go toolchain aside.
fn found(v: &Value) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for x in v.as_array().into_iter().flatten() {
        let package = x["package"].as_str().unwrap_or("");
        if package == "stdlib" {
            continue;
        }
        out.entry(format!("{package} {}", x["version"].as_str().unwrap_or("")))
            .or_default()
            .push(x["advisory"].as_str().unwrap_or("").to_owned());
    }
    for ids in out.values_mut() {
        ids.sort();
    }
    out
}

/// Real lockfiles against the real OSV data give exactly the advisories an
/// independent PEP 440 / SemVer check gives (computed with Python's
/// `packaging`), and nothing for the fixed versions.
#[test]
fn audit_deps_finds_exactly_the_known_advisories_and_none_on_fixed_versions() {
    let place = place();
    import_osv(&place);
    let dir = place.dir.path();
    let files = [
        ("package-lock.json", PACKAGE_LOCK),
        ("yarn.lock", YARN_LOCK),
        ("Cargo.lock", CARGO_LOCK),
        ("requirements.txt", REQUIREMENTS),
        ("poetry.lock", POETRY_LOCK),
        ("go.mod", GO_MOD),
    ];
    for (name, text) in files {
        write(&dir.join(name), text);
    }
    let paths: Vec<String> = files
        .iter()
        .map(|(n, _)| dir.join(n).display().to_string())
        .collect();
    let mut args = vec!["audit", "deps", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let out = place.run(&args);
    assert_eq!(code(&out), Some(1), "vulnerable: {}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let got = found(&v);
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut want: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    want.insert(
        "lodash 4.17.15".into(),
        ids(&[
            "GHSA-29mw-wpgm-hmr9",
            "GHSA-35jh-r3h4-6jhm",
            "GHSA-p6mc-m468-83gw",
        ]),
    );
    want.insert("minimist 1.2.5".into(), ids(&["GHSA-xvch-5gv4-984h"]));
    want.insert("qs 6.5.2".into(), ids(&["GHSA-hrpp-h998-j3pp"]));
    want.insert("smallvec 1.6.0".into(), ids(&["RUSTSEC-2021-0003"]));
    want.insert("time 0.1.43".into(), ids(&["RUSTSEC-2020-0071"]));
    want.insert(
        "requests 2.19.1".into(),
        ids(&["PYSEC-2018-28", "PYSEC-2023-74"]),
    );
    want.insert(
        "Jinja2 2.10".into(),
        ids(&["PYSEC-2019-217", "PYSEC-2021-66"]),
    );
    want.insert(
        "Beaker 1.6.4".into(),
        ids(&["PYSEC-2012-1", "PYSEC-2020-216"]),
    );
    // A release candidate sorts before its release (PEP 440): the fixes
    // that came in 3.2.14 itself still apply.
    want.insert(
        "Django 3.2.14rc1".into(),
        ids(&[
            "PYSEC-2022-213",
            "PYSEC-2022-245",
            "PYSEC-2022-304",
            "PYSEC-2023-100",
            "PYSEC-2023-12",
            "PYSEC-2023-13",
            "PYSEC-2023-222",
            "PYSEC-2023-225",
            "PYSEC-2023-226",
            "PYSEC-2023-61",
            "PYSEC-2024-28",
            "PYSEC-2024-47",
        ]),
    );
    want.insert(
        "github.com/gin-gonic/gin v1.6.3".into(),
        ids(&["GO-2021-0052", "GO-2023-1737"]),
    );
    // +incompatible versions order as their SemVer.
    want.insert(
        "github.com/docker/distribution v2.6.2+incompatible".into(),
        ids(&["GO-2021-0072", "GO-2022-0379"]),
    );
    let net = got
        .get("golang.org/x/net v0.0.0-20190125091012-d26f9f9a57f3")
        .cloned()
        .unwrap_or_default();
    assert!(
        net.contains(&"GO-2020-0014".to_owned()),
        "one pseudo-version before the fix: {net:?}"
    );
    assert_eq!(net.len(), 24, "{net:?}");
    let mut rest = got.clone();
    rest.remove("golang.org/x/net v0.0.0-20190125091012-d26f9f9a57f3");
    assert_eq!(rest, want);
    // The smallest upgrade clearing every lodash advisory, and the fix line.
    let lodash: Vec<&Value> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["package"] == "lodash")
        .collect();
    assert!(
        lodash.iter().all(|x| x["upgrade"] == "4.17.21"),
        "{lodash:?}"
    );
    assert!(lodash.iter().any(|x| x["fix"] == "4.17.20"));
    assert!(lodash.iter().all(|x| {
        x["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("package-lock.json"))
    }));
    assert!(lodash.iter().all(|x| x["line"] == 16), "{lodash:?}");
    assert!(
        lodash
            .iter()
            .all(|x| !x["severity"].as_str().unwrap_or("").is_empty())
    );

    // The fixed versions, and the pseudo-version at the fix, are clean.
    write(&dir.join("fixed/go.mod"), GO_MOD_FIXED);
    let fixed = [
        dir.join("yarn.lock"),
        dir.join("poetry.lock"),
        dir.join("fixed/go.mod"),
    ];
    let fixed: Vec<String> = fixed.iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["audit", "deps", "--format", "json"];
    args.extend(fixed.iter().map(String::as_str));
    let out = place.run(&args);
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let got = found(&v);
    assert!(
        !got.contains_key("lodash 4.17.21") && !got.contains_key("minimist 1.2.6"),
        "{got:?}"
    );
    assert!(
        !got.contains_key("requests 2.32.0") && !got.contains_key("jinja2 2.11.3"),
        "{got:?}"
    );
    assert_eq!(
        got.get("github.com/docker/distribution v2.7.0+incompatible"),
        Some(&vec!["GO-2022-0379".to_owned()]),
        "{got:?}"
    );
    let net = got
        .get("golang.org/x/net v0.0.0-20190125091013-d26f9f9a57f3")
        .cloned()
        .unwrap_or_default();
    assert!(
        !net.contains(&"GO-2020-0014".to_owned()) && net.len() == 23,
        "{net:?}"
    );

    // SARIF for code scanning; --fail-on picks the bar.
    let out = place.run(&["audit", "deps", "--format", "sarif", &paths[0]]);
    let sarif: Value = serde_json::from_str(&stdout(&out)).expect("sarif");
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(5)
    );
    let out = place.run(&["audit", "deps", "--fail-on", "never", &paths[0]]);
    assert_eq!(code(&out), Some(0));
    assert!(stdout(&out).contains("GHSA-p6mc-m468-83gw") && stdout(&out).contains("4.17.21"));
    let out = place.run(&[
        "audit",
        "deps",
        &dir.join("yarn.lock").display().to_string(),
    ]);
    assert_eq!(code(&out), Some(0), "nothing vulnerable: {}", stdout(&out));

    // Bad input says what is wrong and exits 2.
    write(
        &dir.join("bad/package-lock.json"),
        "{\"lockfileVersion\": 9, \"packages\": {}}",
    );
    let out = place.run(&[
        "audit",
        "deps",
        &dir.join("bad/package-lock.json").display().to_string(),
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("lockfileVersion 9"),
        "{}",
        stderr(&out)
    );
    write(&dir.join("notes.txt"), "hello");
    let out = place.run(&[
        "audit",
        "deps",
        &dir.join("notes.txt").display().to_string(),
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("not a lockfile"), "{}", stderr(&out));
    let out = place.run(&["osv", "import", "/nonexistent/osv"]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
}

/// An audit against an empty database says to import first.
#[test]
fn audit_deps_without_a_database_says_to_import() {
    let place = place();
    write(&place.dir.path().join("Cargo.lock"), CARGO_LOCK);
    let out = place.run(&[
        "audit",
        "deps",
        &place.dir.path().join("Cargo.lock").display().to_string(),
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("osv import"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- findings on a server

async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Scans of a service open findings and fix them when the version moves
/// on; acceptance, backlog items, patch releases, patch SLAs, SARIF and
/// pentest imports; a certificate expiring in 10 days raises a ticket.
async fn findings_follow_scans_and_credentials_warn(backend: crate::helpers::Backend) {
    use reqwest::Method;
    use serde_json::json;
    let app = crate::helpers::spawn_app_with(backend, |c| c.job_tick_ms = 200).await;
    let (admin, _) = crate::helpers::shop_with_ingest_key(&app).await;
    let api = |p: &str| format!("/api/v1/projects/shop/security{p}");
    // The npm advisories, straight into the store as `osv import` loads them.
    let mut records =
        liveops_wire::osv::Records::open(Path::new(&format!("{}/npm", osv_dir()))).expect("osv");
    let mut rows = Vec::new();
    while let Some((a, text)) = records.next_with_text() {
        rows.push(liveops_server::security::osv_row(&a, &text));
    }
    app.state.db.import_osv(&rows, 0).await.expect("import");
    // The OSV database is the instance's: an instance token reads it.
    let root = app
        .state
        .db
        .user_by_email(&liveops_core::Email::parse("root@example.com").expect("email"))
        .await
        .expect("root");
    let instance = app.instance_token(&root, "read").await;
    let (status, osv) = app.get("/api/v1/security/osv", &instance).await;
    assert_eq!(status, 200, "{osv}");
    assert_eq!(osv["ecosystems"][0]["advisories"], 30);

    let scan = |lock: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.send(
                Method::POST,
                "/api/v1/projects/shop/security/scans",
                &admin,
                Some(json!({"service": "web", "files": [{"name": "web/package-lock.json", "text": lock}]})),
            )
            .await
        }
    };
    let (status, first) = scan(PACKAGE_LOCK.to_owned()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["opened"].as_array().map(Vec::len), Some(5), "{first}");
    let (_, open) = app.get(&api("/findings?state=open"), &admin).await;
    assert_eq!(open.as_array().map(Vec::len), Some(5));
    assert!(
        open.as_array()
            .into_iter()
            .flatten()
            .all(|f| f["sla_due"].is_string())
    );
    let lodash_fix = open
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["advisory"] == "GHSA-p6mc-m468-83gw")
        .expect("lodash finding");
    assert_eq!(lodash_fix["fixed_version"], "4.17.20");
    assert_eq!(lodash_fix["location"], "web/package-lock.json:16");

    // Upgrading lodash fixes its three findings; the others stay open.
    let upgraded = PACKAGE_LOCK.replace("4.17.15", "4.17.21");
    let (_, second) = scan(upgraded.clone()).await;
    assert_eq!(
        second["fixed"].as_array().map(Vec::len),
        Some(3),
        "{second}"
    );
    assert_eq!(second["still_present"].as_array().map(Vec::len), Some(2));
    // Back to the old version: the findings reopen.
    let (_, third) = scan(PACKAGE_LOCK.to_owned()).await;
    assert_eq!(
        third["reopened"].as_array().map(Vec::len),
        Some(3),
        "{third}"
    );
    let (_, _) = scan(upgraded).await;

    // Accepting the minimist risk, then a patch release for qs.
    let (_, open) = app.get(&api("/findings?state=open"), &admin).await;
    let number = |advisory: &str| {
        open.as_array()
            .into_iter()
            .flatten()
            .find(|f| f["advisory"] == advisory)
            .and_then(|f| f["number"].as_i64())
            .expect("finding")
    };
    let (minimist, qs) = (number("GHSA-xvch-5gv4-984h"), number("GHSA-hrpp-h998-j3pp"));
    let (status, accepted) = app
        .send(
            Method::POST,
            &api(&format!("/findings/{minimist}/actions")),
            &admin,
            Some(json!({"action": "accept", "reason": "only used by the build", "until": "2027-03-01"})),
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["finding"]["state"], "accepted");
    for bad in [
        json!({"action": "accept", "reason": "x"}),
        json!({"action": "accept", "reason": "x", "until": "2020-01-01"}),
        json!({"action": "ignore"}),
    ] {
        crate::helpers::assert_problem(
            &app.send(
                Method::POST,
                &api(&format!("/findings/{minimist}/actions")),
                &admin,
                Some(bad),
            )
            .await,
            422,
        );
    }
    let (status, patched) = app
        .send(
            Method::POST,
            &api(&format!("/findings/{qs}/actions")),
            &admin,
            Some(json!({"action": "patch"})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let release = patched["release"].as_str().expect("release").to_owned();
    let item = patched["finding"]["item"].as_i64().expect("item");
    let (_, r) = app
        .get(&format!("/api/v1/projects/shop/releases/{release}"), &admin)
        .await;
    assert_eq!(r["kind"], "patch");
    assert_eq!(r["items"][0]["number"], item);
    assert_eq!(r["items"][0]["kind"], "security");
    assert!(
        r["items"][0]["title"]
            .as_str()
            .is_some_and(|t| t.contains("qs")),
        "{r}"
    );

    // Patch SLAs: a one-day SLA for high findings, breached a day on.
    let (status, slas) = app
        .send(
            Method::PUT,
            &api("/slas"),
            &admin,
            Some(json!([{"severity": "high", "days": 1}])),
        )
        .await;
    assert_eq!(status, 200, "{slas}");
    assert!(
        slas.as_array()
            .into_iter()
            .flatten()
            .any(|s| s["severity"] == "high" && s["days"] == 1)
    );
    crate::helpers::assert_problem(
        &app.send(
            Method::PUT,
            &api("/slas"),
            &admin,
            Some(json!([{"severity": "high", "days": 0}])),
        )
        .await,
        422,
    );
    sqlx::query(
        "UPDATE security_findings SET opened_at = opened_at - 2 * 86400000 WHERE state = 'open'",
    )
    .execute(app.state.db.pool())
    .await
    .expect("age the findings");
    let breached = wait_for("an SLA ticket", async || {
        let (_, tickets) = app.get("/api/v1/projects/shop/tickets", &admin).await;
        tickets
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| {
                t["subject"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("Patch SLA breached"))
            })
            .cloned()
    })
    .await;
    assert!(
        breached["subject"]
            .as_str()
            .is_some_and(|s| s.contains(&format!("#{qs}"))),
        "{breached}"
    );

    // SARIF from a scanner and a pentest CSV feed the same findings.
    let sarif = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "semgrep", "rules": []}},
        "results": [{"ruleId": "python.flask.security.xss", "level": "error",
            "message": {"text": "Unescaped template variable"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/views.py"}, "region": {"startLine": 7}}}]}]}]});
    let (status, imported) = app
        .post_raw(&api("/sarif?service=web"), &admin, sarif.to_string())
        .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported["opened"].as_array().map(Vec::len), Some(1));
    let (status, imported) = app
        .post_raw(
            &api("/pentest?service=web&name=acme-2026"),
            &admin,
            "ID,Finding,Risk,Asset\nPT-1,Stored XSS in reviews,High,https://shop.example/reviews\n",
        )
        .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(
        app.post_raw(
            &api("/pentest?service=web"),
            &admin,
            "ID,Finding,Risk\nPT-1,XSS,spicy\n"
        )
        .await
        .0,
        422
    );
    let (_, all) = app.get(&api("/findings?service=web"), &admin).await;
    let sources: std::collections::BTreeSet<&str> = all
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["source"].as_str())
        .collect();
    assert_eq!(
        sources.into_iter().collect::<Vec<_>>(),
        vec!["audit", "pentest:acme-2026", "sarif:semgrep"]
    );

    // The credential inventory: a certificate expiring in 10 days raises a
    // warning ticket; liveops' own tokens are listed with their use.
    let (cert, _) = self_signed("api.shop.example", &["api.shop.example"], -80, 10);
    let (status, certs) = app
        .post_raw(
            &api("/certificates?owner=ops@shop.example"),
            &admin,
            cert.pem(),
        )
        .await;
    assert_eq!(status, 201, "{certs}");
    assert_eq!(certs[0]["days_left"], 9, "{certs}");
    assert_eq!(certs[0]["system"], "api.shop.example");
    let warning = wait_for("a certificate ticket", async || {
        let (_, tickets) = app.get("/api/v1/projects/shop/tickets", &admin).await;
        tickets
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| {
                t["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("tls certificate expires in 14 days"))
            })
            .cloned()
    })
    .await;
    assert_eq!(warning["priority"], "high", "{warning}");
    assert_eq!(warning["requester"], "ops@shop.example");
    let (status, key) = app
        .send(
            Method::POST,
            &api("/credentials"),
            &admin,
            Some(
                json!({"kind": "api_key", "name": "stripe live", "owner": "ops@shop.example",
                "system": "stripe", "expires_at": "2030-01-01", "last_used_at": "2026-01-02"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    assert_eq!(key["stale"], true, "unused since January");
    let (_, inventory) = app.get(&api("/credentials"), &admin).await;
    let kinds: Vec<&str> = inventory
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        vec!["tls_certificate", "api_key", "liveops_token"],
        "{inventory}"
    );
    crate::helpers::assert_problem(
        &app.send(
            Method::POST,
            &api("/credentials"),
            &admin,
            Some(json!({"kind": "password", "name": "x", "owner": "o", "system": "s"})),
        )
        .await,
        422,
    );
    assert_eq!(
        app.post_raw(&api("/certificates?owner=ops"), &admin, "not a certificate")
            .await
            .0,
        422
    );
    // Only one warning per stage, however often the watch runs.
    for _ in 0..3 {
        liveops_server::jobs::support::tick(&app.state).await;
    }
    let (_, tickets) = app.get("/api/v1/projects/shop/tickets", &admin).await;
    let warnings = tickets
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["subject"]
                .as_str()
                .is_some_and(|s| s.contains("tls certificate expires"))
        })
        .count();
    assert_eq!(warnings, 1);
    app.stop().await;
}

crate::helpers::storage_stories!(
    findings_follow_scans_and_credentials_warn,
    webhook_urls_are_sealed_at_rest,
    expiry_stages_and_the_security_page
);

/// A production deployment that ships a fixed lockfile fixes the findings;
/// `audit certs --project` fills the inventory and `audit secrets
/// --project` records masked findings, fixed once the secret is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_fix_findings_and_audits_record_for_a_project() {
    use crate::cli::bootstrap;
    let place = place();
    import_osv(&place);
    let (slug, token) = bootstrap(&place);
    let server = place.serve();
    let dir = place.dir.path();
    write(&dir.join("v1/package-lock.json"), PACKAGE_LOCK);
    write(
        &dir.join("v2/package-lock.json"),
        PACKAGE_LOCK
            .replace("4.17.15", "4.17.21")
            .replace("1.2.5", "1.2.6")
            .replace("6.5.2", "6.5.3"),
    );
    let run = |args: &[&str]| {
        let out = place
            .cmd(args)
            .env("LIVEOPS_SERVER", &server.base)
            .env("LIVEOPS_TOKEN", &token)
            .output()
            .expect("run");
        (code(&out), stdout(&out), stderr(&out))
    };
    let v1 = dir.join("v1/package-lock.json").display().to_string();
    let v2 = dir.join("v2/package-lock.json").display().to_string();
    let (c, _, err) = run(&["audit", "deps", "--project", &slug, "--service", "web", &v1]);
    assert_eq!(c, Some(1), "{err}");
    assert!(err.contains("5 opened"), "{err}");
    let (c, _, err) = run(&[
        "deploy",
        "record",
        "--project",
        &slug,
        "--service",
        "web",
        "--version",
        "1.0.1",
        "--lockfile",
        &v2,
    ]);
    assert_eq!(c, Some(0), "{err}");
    let (_, out, err) = run(&[
        "audit",
        "deps",
        "--project",
        &slug,
        "--service",
        "web",
        "--format",
        "json",
        &v2,
    ]);
    assert_eq!(out.trim(), "[]");
    assert!(
        err.contains("0 opened, 0 reopened, 0 fixed"),
        "the deployment's own scan fixed them already: {err}"
    );
    // Certificates into the inventory.
    let (cert, _) = self_signed("api.shop.example", &["api.shop.example"], -10, 20);
    write(&dir.join("certs/api.pem"), cert.pem());
    let certs_dir = dir.join("certs").display().to_string();
    let (c, _, err) = run(&[
        "audit",
        "certs",
        &certs_dir,
        "--project",
        &slug,
        "--owner",
        "ops@shop.example",
    ]);
    assert_eq!(c, Some(1), "expires within 30 days: {err}");
    assert!(err.contains("1 certificate(s) in the inventory"), "{err}");
    // Secrets become findings, masked.
    let token_value = format!("ghp_{}", "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5");
    write(
        &dir.join("repo/deploy.env"),
        format!("GITHUB_TOKEN={token_value}\n"),
    );
    let repo = dir.join("repo").display().to_string();
    let (c, _, err) = run(&[
        "audit",
        "secrets",
        &repo,
        "--project",
        &slug,
        "--service",
        "web",
    ]);
    assert_eq!(c, Some(1), "{err}");
    assert!(err.contains("1 opened"), "{err}");
    write(
        &dir.join("repo/deploy.env"),
        "GITHUB_TOKEN=${GITHUB_TOKEN}\n",
    );
    let (c, _, err) = run(&[
        "audit",
        "secrets",
        &repo,
        "--project",
        &slug,
        "--service",
        "web",
    ]);
    assert_eq!(c, Some(0), "{err}");
    assert!(err.contains("1 fixed"), "{err}");
    server.stop();
}

/// Outbound webhook URLs are sealed at rest: the database holds no token,
/// deliveries still reach the hook, views and the audit log mask the
/// token, and rows written in plain text before sealing get sealed.
async fn webhook_urls_are_sealed_at_rest(backend: crate::helpers::Backend) {
    use reqwest::Method;
    use serde_json::json;
    let app = crate::helpers::spawn_app(backend).await;
    let (admin, _) = crate::helpers::shop_with_ingest_key(&app).await;
    let sink = crate::helpers::Sink::start().await;
    let token = "Zq8vN3kT5rW1xY7bC2dF9gH4";
    let url = sink.url(token);
    let (status, hook) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/hooks",
            &admin,
            Some(json!({"kind": "webhook", "url": url})),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let shown = hook["url"].as_str().expect("url");
    assert!(!shown.contains(token) && shown.ends_with('…'), "{shown}");
    let pool = app.state.db.pool();
    let raw: String = sqlx::query_scalar("SELECT url FROM support_hooks")
        .fetch_one(pool)
        .await
        .expect("hook row");
    assert!(
        raw.starts_with("sealed:v1:") && !raw.contains(token),
        "{raw}"
    );

    // An incident notifies the hook through the outbox, still sealed there.
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Checkout down", "severity": "sev2"})),
        )
        .await;
    assert_eq!(status, 201);
    let targets: Vec<String> =
        sqlx::query_scalar("SELECT target FROM support_outbox WHERE channel = 'webhook'")
            .fetch_all(pool)
            .await
            .expect("outbox");
    assert!(!targets.is_empty());
    assert!(targets.iter().all(|t| !t.contains(token)), "{targets:?}");
    let heard = sink.wait_for(token, 1, Duration::from_secs(10)).await;
    assert_eq!(heard[0]["event"], "incident.triggered", "{heard:?}");
    let (_, detail) = app.get("/api/v1/projects/shop/incidents/1", &admin).await;
    assert!(!detail.to_string().contains(token), "{detail}");
    let (_, hooks) = app.get("/api/v1/projects/shop/hooks", &admin).await;
    assert!(!hooks.to_string().contains(token), "{hooks}");
    let (_, audit) = app.get("/api/v1/projects/shop/audit", &admin).await;
    assert!(!audit.to_string().contains(token), "{audit}");

    // A hook stored before sealing existed is sealed, and still opens.
    let project: String = sqlx::query_scalar("SELECT id FROM projects WHERE slug = 'shop'")
        .fetch_one(pool)
        .await
        .expect("project");
    let legacy = sink.url("Lg7aB3cD9eF1gH5iJ2kL8mN4");
    sqlx::query(
        "INSERT INTO support_hooks (id, project_id, kind, url, created_at) VALUES ('legacy', $1, 'slack', $2, 0)",
    )
    .bind(&project)
    .bind(&legacy)
    .execute(pool)
    .await
    .expect("legacy row");
    // Sealing runs once per database; a database from before it has not.
    sqlx::query("DELETE FROM data_tasks")
        .execute(pool)
        .await
        .expect("forget the run");
    let sealer = app.state.sealer.clone();
    let sealed = app
        .state
        .db
        .seal_plaintext(&|p: &str| sealer.seal(p), 0)
        .await
        .expect("seal");
    assert_eq!(sealed, 1);
    let raw: String = sqlx::query_scalar("SELECT url FROM support_hooks WHERE id = 'legacy'")
        .fetch_one(pool)
        .await
        .expect("legacy");
    assert!(raw.starts_with("sealed:v1:"), "{raw}");
    assert_eq!(sealer.open(&raw).as_deref(), Ok(legacy.as_str()));
    assert_eq!(
        app.state
            .db
            .seal_plaintext(&|p: &str| sealer.seal(p), 0)
            .await
            .expect("again"),
        0
    );
    app.stop().await;
}

/// Credentials warn once at each stage before expiry — tickets at 30 and 7
/// days, incidents a day before and at expiry — and the security page
/// accepts a finding (which reopens when the acceptance runs out), raises a
/// backlog item from one, and adds to the inventory.
async fn expiry_stages_and_the_security_page(backend: crate::helpers::Backend) {
    use reqwest::Method;
    use serde_json::json;
    // The job stays out of the way: this story runs the watch itself.
    let app = crate::helpers::spawn_app_with(backend, |c| c.job_tick_ms = 60_000).await;
    // The support job's first round, at start, must be over before there
    // is anything for it to warn about (a loaded machine can start it late).
    let start = std::time::Instant::now();
    while app
        .state
        .metrics
        .job_ticks
        .get_or_create(&liveops_server::metrics::KindLabels {
            kind: "support".into(),
        })
        .get()
        == 0
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the support job never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (admin, _) = crate::helpers::shop_with_ingest_key(&app).await;
    let api = |p: &str| format!("/api/v1/projects/shop/security{p}");
    let now = jiff::Timestamp::now();
    let in_hours = |h: i64| (now + jiff::SignedDuration::from_hours(h)).to_string();
    for (name, expires) in [
        ("stripe live key", in_hours(20 * 24)),
        ("github app key", in_hours(5 * 24)),
        ("oauth secret", in_hours(12)),
        ("old signing key", in_hours(-24)),
        ("far away key", in_hours(90 * 24)),
    ] {
        let (status, c) = app
            .send(
                Method::POST,
                &api("/credentials"),
                &admin,
                Some(
                    json!({"kind": "api_key", "name": name, "owner": "ops@example.com",
                            "system": "billing", "expires_at": expires}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{c}");
    }
    let warned = liveops_server::security::watch::credentials(&app.state)
        .await
        .expect("watch");
    assert_eq!(warned, 4, "the one 90 days away waits");
    assert_eq!(
        liveops_server::security::watch::credentials(&app.state)
            .await
            .expect("watch again"),
        0,
        "once per stage"
    );
    let (_, tickets) = app.get("/api/v1/projects/shop/tickets", &admin).await;
    let mut subjects: Vec<String> = tickets
        .as_array()
        .expect("tickets")
        .iter()
        .filter_map(|t| t["subject"].as_str().map(str::to_owned))
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        vec![
            "api key expires in 30 days: stripe live key".to_owned(),
            "api key expires in 7 days: github app key".to_owned(),
        ],
        "{tickets}"
    );
    let (_, incidents) = app.get("/api/v1/projects/shop/incidents", &admin).await;
    let mut titles: Vec<(String, String)> = incidents
        .as_array()
        .expect("incidents")
        .iter()
        .map(|i| {
            (
                i["title"].as_str().unwrap_or("").to_owned(),
                i["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        vec![
            ("Expired: old signing key".to_owned(), "sev2".to_owned()),
            (
                "Expires tomorrow: oauth secret".to_owned(),
                "sev3".to_owned()
            ),
        ]
    );

    // A scanner finding to act on from the page.
    let sarif = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "trivy", "rules": []}},
        "results": [
            {"ruleId": "CVE-2026-0001", "level": "error", "message": {"text": "openssl too old"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"}}}]},
            {"ruleId": "CVE-2026-0002", "level": "warning", "message": {"text": "curl too old"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"}}}]}]}]});
    let (status, imported) = app
        .post_raw(&api("/sarif?service=web"), &admin, sarif.to_string())
        .await;
    assert_eq!(status, 200, "{imported}");
    let opened: Vec<i64> = imported["opened"]
        .as_array()
        .expect("opened")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert_eq!(opened.len(), 2);

    let b = crate::ui::browser();
    let csrf = crate::ui::sign_in(&b, &app.base, "root@example.com", "correct horse battery").await;
    let page = b
        .get(app.url("/p/shop/security"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("Accept the risk") && page.contains("Add or update a credential"));
    let tomorrow = (now + jiff::SignedDuration::from_hours(36))
        .strftime("%Y-%m-%d")
        .to_string();
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let b = b.clone();
        let url = app.url(&path);
        async move { b.post(url).form(&form).send().await.expect("post") }
    };
    let accepted = post(
        format!("/p/shop/security/findings/{}", opened[0]),
        vec![
            ("_csrf", csrf.clone()),
            ("action", "accept".into()),
            ("reason", "patched base image next sprint".into()),
            ("until", tomorrow.clone()),
        ],
    )
    .await;
    assert_eq!(accepted.status().as_u16(), 303);
    let refused = post(
        format!("/p/shop/security/findings/{}", opened[0]),
        vec![
            ("_csrf", csrf.clone()),
            ("action", "accept".into()),
            ("reason", "no date".into()),
        ],
    )
    .await;
    assert_eq!(refused.status().as_u16(), 422);
    let raised = post(
        format!("/p/shop/security/findings/{}", opened[1]),
        vec![("_csrf", csrf.clone()), ("action", "backlog".into())],
    )
    .await;
    assert_eq!(raised.status().as_u16(), 303);
    let added = post(
        "/p/shop/security/credentials".into(),
        vec![
            ("_csrf", csrf.clone()),
            ("name", "github deploy key".into()),
            ("kind", "signing_key".into()),
            ("system", "github".into()),
            ("owner", "ops@example.com".into()),
            ("expires_at", "2027-06-01".into()),
            ("last_used_at", String::new()),
        ],
    )
    .await;
    assert_eq!(added.status().as_u16(), 303);
    let forged = post(
        "/p/shop/security/credentials".into(),
        vec![
            ("_csrf", "forged".into()),
            ("name", "x".into()),
            ("kind", "api_key".into()),
            ("system", "x".into()),
            ("owner", "x".into()),
        ],
    )
    .await;
    assert_eq!(forged.status().as_u16(), 403);

    let (_, findings) = app.get(&api("/findings"), &admin).await;
    let by_number = |n: i64| {
        findings
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["number"] == n))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_number(opened[0])["state"], "accepted", "{findings}");
    assert_eq!(
        by_number(opened[0])["accepted_reason"],
        "patched base image next sprint"
    );
    assert!(
        by_number(opened[1])["item"].as_i64().is_some(),
        "{findings}"
    );
    let (_, inventory) = app.get(&api("/credentials"), &admin).await;
    assert!(
        inventory.as_array().is_some_and(|cs| cs
            .iter()
            .any(|c| c["name"] == "github deploy key" && c["kind"] == "signing_key")),
        "{inventory}"
    );
    // One log, two tools: each is its own source, so trivy no longer
    // reporting curl fixes that finding while grype's result opens anew.
    let two = json!({"version": "2.1.0", "runs": [
        {"tool": {"driver": {"name": "trivy", "rules": []}},
         "results": [{"ruleId": "CVE-2026-0001", "level": "error", "message": {"text": "openssl too old"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"}}}]}]},
        {"tool": {"driver": {"name": "grype", "rules": []}},
         "results": [{"ruleId": "GHSA-xxxx-yyyy-zzzz", "level": "warning", "message": {"text": "zlib too old"},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"}}}]}]}]});
    let (status, imported) = app
        .post_raw(&api("/sarif?service=web"), &admin, two.to_string())
        .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported["results"], 2);
    assert_eq!(imported["fixed"], json!([opened[1]]), "{imported}");
    assert_eq!(imported["opened"].as_array().map(Vec::len), Some(1));
    // When the acceptance runs out, the finding is open again.
    let later = (now + jiff::SignedDuration::from_hours(72)).as_millisecond();
    assert_eq!(
        app.state
            .db
            .expire_acceptances(later)
            .await
            .expect("expire"),
        1
    );
    let (_, findings) = app.get(&api("/findings"), &admin).await;
    let reopened = findings
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["number"] == opened[0]))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(reopened["state"], "open", "{reopened}");
    app.stop().await;
}

/// A long import shows its progress on a terminal (here a pseudo-terminal
/// from util-linux's `script`), and nothing when its output goes to a
/// program or in JSON mode.
#[test]
fn osv_import_shows_progress_only_on_a_terminal() {
    let place = Place {
        dir: tempfile::tempdir().expect("tempdir"),
        database_url: None,
    };
    let dir = format!("{}/crates.io", osv_dir());
    let on_a_terminal = |json: bool| {
        let command = format!(
            "{} security osv import{} {dir}",
            crate::cli::BIN,
            if json { " --format json" } else { "" }
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("LIVEOPS_DATA_DIR", place.data_dir())
            .env_remove("LIVEOPS_DATABASE_URL")
            .env_remove("NO_COLOR")
            .output()
            .expect("script (util-linux)");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let shown = on_a_terminal(false);
    assert!(
        shown.contains("importing OSV advisories") && shown.contains("records"),
        "{shown}"
    );
    assert!(shown.contains("unchanged"), "the result follows: {shown}");
    let json = on_a_terminal(true);
    assert!(!json.contains("importing"), "{json}");
    let piped = place.run(&["security", "osv", "import", &dir]);
    assert_eq!(code(&piped), Some(0));
    assert_eq!(stderr(&piped), "", "no progress into a pipe");
    assert!(!stdout(&piped).contains("importing"));
}
