//! The one HTTP client that leaves the building: webhook and Slack
//! deliveries, status-page subscriber challenges, anything the server sends
//! to an address someone typed in.
//!
//! Anyone who can save a URL could otherwise make the server talk to itself,
//! to the cloud metadata service or to the private network behind it. So the
//! client resolves names itself and refuses every address in an internal
//! range (checked on the addresses it then connects to, so a name cannot
//! change its answer between the check and the connection), follows no
//! redirect, ignores proxy variables, keeps short timeouts and reads at most
//! a little of any answer. Teams whose receivers really are internal list
//! them in `outbound_allow`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole exchange may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a save-time check may wait for a name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);
/// The most of an answer the client reads; the rest is dropped.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why an outbound request was not made or did not succeed. The text is
/// safe to show: it names the class of failure, never what the other side
/// answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("not a usable URL: {0}")]
    BadUrl(String),
    #[error("refused: {host} is {range}")]
    Refused { host: String, range: &'static str },
    #[error("refused: {0} could not be resolved")]
    Unresolved(String),
    #[error("timeout")]
    Timeout,
    #[error("connection failed")]
    Connect,
    #[error("HTTP {0}")]
    Status(u16),
    #[error("failed: {0}")]
    Other(&'static str),
}

impl OutboundError {
    /// True when the target was refused by policy rather than unreachable.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            OutboundError::Refused { .. } | OutboundError::Unresolved(_) | OutboundError::BadUrl(_)
        )
    }
}

/// The name of the internal or special-purpose range `ip` lies in, if any.
/// IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4)
/// are judged by that address.
pub fn denied_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => denied_v4(v4),
        IpAddr::V6(v6) => denied_v6(v6),
    }
}

fn denied_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "an unspecified address",
        (127, _, _) => "a loopback address",
        (10, _, _) => "a private address",
        (172, 16..=31, _) => "a private address",
        (192, 168, _) => "a private address",
        (169, 254, _) => "a link-local address",
        (100, 64..=127, _) => "a shared (CGNAT) address",
        (192, 0, 0) => "an IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (192, 88, 99) => "a 6to4 relay address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved or broadcast address",
        _ => return None,
    })
}

fn denied_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    // ::ffff:a.b.c.d (mapped) is judged by its IPv4 address; ::a.b.c.d
    // (compatible) is deprecated and never needed for a webhook.
    if s[..5] == [0; 5] && s[5] == 0xffff {
        return denied_v4(embedded_v4(s[6], s[7]));
    }
    if s[..6] == [0; 6] {
        return Some("an IPv4-compatible address");
    }
    // NAT64's well-known prefix carries the IPv4 address in its last 32 bits.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return denied_v4(embedded_v4(s[6], s[7]));
    }
    // 6to4 carries it in bits 16 to 48.
    if s[0] == 0x2002 {
        return denied_v4(embedded_v4(s[1], s[2]));
    }
    Some(match s[0] {
        0x64 if s[1] == 0xff9b && s[2] == 1 => "a local NAT64 address",
        0x100 if s[1..4] == [0, 0, 0] => "a discard-only address",
        0x2001 if s[1] == 0xdb8 => "a documentation address",
        0x2001 if s[1] == 0 => "a Teredo tunnel address",
        0x3fff if s[1] < 0x1000 => "a documentation address",
        x if x & 0xfe00 == 0xfc00 => "a unique-local address",
        x if x & 0xffc0 == 0xfe80 => "a link-local address",
        x if x & 0xffc0 == 0xfec0 => "a site-local address",
        x if x & 0xff00 == 0xff00 => "a multicast address",
        _ => return None,
    })
}

/// The IPv4 address two IPv6 segments carry.
fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

/// One entry of `outbound_allow`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Net(IpNet),
    /// A host name, lower case; `*.example.com` also allows its subdomains.
    Host(String),
    Domain(String),
}

/// What the outbound client may reach beyond the public internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    allowed: Vec<Allowed>,
}

impl Policy {
    /// Reads `outbound_allow`: CIDR ranges (`10.0.0.0/8`), single addresses,
    /// host names (`hooks.internal`) and domains (`*.corp.example`).
    pub fn parse(entries: &[String]) -> Result<Policy, String> {
        let mut allowed = Vec::new();
        for raw in entries {
            let e = raw.trim().to_ascii_lowercase();
            if let Ok(net) = e.parse::<IpNet>() {
                allowed.push(Allowed::Net(net));
            } else if let Ok(ip) = e.parse::<IpAddr>() {
                allowed.push(Allowed::Net(IpNet::from(ip)));
            } else if let Some(domain) = e.strip_prefix("*.") {
                if !is_host_name(domain) {
                    return Err(format!("outbound_allow: `{raw}` is not a domain"));
                }
                allowed.push(Allowed::Domain(domain.to_owned()));
            } else if is_host_name(&e) {
                allowed.push(Allowed::Host(e));
            } else {
                return Err(format!(
                    "outbound_allow: `{raw}` is neither an address range nor a host name"
                ));
            }
        }
        Ok(Policy { allowed })
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed.iter().any(|a| match a {
            Allowed::Host(h) => *h == host,
            Allowed::Domain(d) => host
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.')),
            Allowed::Net(_) => false,
        })
    }

    /// Refuses `ip` when it is internal and not allowed, for `host`.
    fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), OutboundError> {
        let Some(range) = denied_range(ip) else {
            return Ok(());
        };
        let allowed = self.host_allowed(host)
            || self.allowed.iter().any(|a| match a {
                Allowed::Net(n) => n.contains(&ip) || to_v4(ip).is_some_and(|v4| n.contains(&v4)),
                _ => false,
            });
        if allowed {
            Ok(())
        } else if host.parse::<IpAddr>().is_ok() {
            Err(OutboundError::Refused {
                host: ip.to_string(),
                range,
            })
        } else {
            Err(OutboundError::Refused {
                host: format!("{host} ({ip})"),
                range,
            })
        }
    }

    /// Resolves `host` and checks every address it has; all must pass.
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
        let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| OutboundError::Unresolved(host.to_owned()))?
            .map_err(|_| OutboundError::Unresolved(host.to_owned()))?;
        let addrs: Vec<SocketAddr> = found.collect();
        if addrs.is_empty() {
            return Err(OutboundError::Unresolved(host.to_owned()));
        }
        for a in &addrs {
            self.check_ip(host, a.ip())?;
        }
        Ok(addrs)
    }

    /// Checks a URL someone wants to save: http or https, a host, and every
    /// address the host has today outside the internal ranges. The refusal
    /// says why, for a 422.
    pub async fn check_url(&self, raw: &str) -> Result<url::Url, OutboundError> {
        let url = parse_url(raw)?;
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(&ip.to_string(), IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check_ip(&ip.to_string(), IpAddr::V6(ip))?,
            Some(url::Host::Domain(d)) => {
                self.resolve(d, url.port_or_known_default().unwrap_or(443))
                    .await?;
            }
            None => return Err(OutboundError::BadUrl("it has no host".into())),
        }
        Ok(url)
    }
}

/// The IPv4 address an IPv4-mapped IPv6 address carries.
fn to_v4(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    }
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn parse_url(raw: &str) -> Result<url::Url, OutboundError> {
    let url = url::Url::parse(raw.trim()).map_err(|e| OutboundError::BadUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(OutboundError::BadUrl("use an http or https URL".into()));
    }
    if url.host().is_none() {
        return Err(OutboundError::BadUrl("it has no host".into()));
    }
    Ok(url)
}

/// Resolves names for the client and hands it only addresses that pass the
/// policy, so the address checked is the address connected to.
struct GuardedResolver {
    policy: Arc<Policy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = policy.resolve(&host, 0).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// What the other side answered: its status and at most
/// [`MAX_ANSWER_BYTES`] of its body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The outbound HTTP client.
#[derive(Clone)]
pub struct Outbound {
    http: reqwest::Client,
    policy: Arc<Policy>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Outbound {
    pub fn new(policy: Policy) -> Outbound {
        let policy = Arc::new(policy);
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .user_agent(concat!("liveops/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Outbound { http, policy }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// POSTs `body` to `url` with `headers`. A 2xx answer is `Ok`; anything
    /// else, including a redirect, is an error that names its class.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer, OutboundError> {
        let url = parse_url(url)?;
        // Literal addresses never reach the resolver, so they are checked here.
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.policy.check_ip(&ip.to_string(), IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.policy.check_ip(&ip.to_string(), IpAddr::V6(ip))?,
            _ => {}
        }
        let mut req = self.http.post(url).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER_BYTES {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_ANSWER_BYTES - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                // The status is what counts; a body cut short is not an error.
                Err(_) => break,
            }
        }
        if (200..300).contains(&status) {
            Ok(Answer { status, body })
        } else {
            Err(OutboundError::Status(status))
        }
    }
}

/// Turns a client error into its class, finding the policy's refusal when
/// the resolver made it.
fn classify(e: reqwest::Error) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(refusal) = s.downcast_ref::<OutboundError>() {
            return refusal.clone();
        }
        source = s.source();
    }
    if e.is_timeout() {
        OutboundError::Timeout
    } else if e.is_connect() {
        OutboundError::Connect
    } else if e.is_builder() {
        OutboundError::Other("the request could not be built")
    } else {
        OutboundError::Other("the exchange broke off")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn every_internal_range_is_denied() {
        for (addr, range) in [
            ("127.0.0.1", "a loopback address"),
            ("127.255.0.9", "a loopback address"),
            ("10.1.2.3", "a private address"),
            ("172.16.0.1", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.1.1", "a private address"),
            ("169.254.169.254", "a link-local address"),
            ("100.64.0.1", "a shared (CGNAT) address"),
            ("100.127.255.254", "a shared (CGNAT) address"),
            ("0.0.0.0", "an unspecified address"),
            ("192.0.2.10", "a documentation address"),
            ("198.51.100.7", "a documentation address"),
            ("203.0.113.99", "a documentation address"),
            ("198.18.0.1", "a benchmarking address"),
            ("224.0.0.251", "a multicast address"),
            ("255.255.255.255", "a reserved or broadcast address"),
            ("::", "an unspecified address"),
            ("::1", "a loopback address"),
            ("fe80::1", "a link-local address"),
            ("fd12:3456::1", "a unique-local address"),
            ("fc00::1", "a unique-local address"),
            ("ff02::1", "a multicast address"),
            ("2001:db8::1", "a documentation address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:169.254.169.254", "a link-local address"),
            ("::ffff:10.0.0.1", "a private address"),
            ("64:ff9b::7f00:1", "a loopback address"),
            ("2002:7f00:1::", "a loopback address"),
            ("2002:a9fe:a9fe::1", "a link-local address"),
            ("2001:0:4136:e378::1", "a Teredo tunnel address"),
        ] {
            assert_eq!(denied_range(ip(addr)), Some(range), "{addr}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "2002:0101:0101::1",
        ] {
            assert_eq!(denied_range(ip(addr)), None, "{addr}");
        }
    }

    #[test]
    fn the_allow_list_opens_ranges_and_hosts() -> Result<(), String> {
        let p = Policy::parse(&[
            "10.0.0.0/8".into(),
            "hooks.internal".into(),
            "*.corp.example".into(),
            "fd00::1".into(),
        ])?;
        assert!(p.check_ip("10.2.3.4", ip("10.2.3.4")).is_ok());
        assert!(p.check_ip("x", ip("::ffff:10.2.3.4")).is_ok());
        assert!(p.check_ip("192.168.0.1", ip("192.168.0.1")).is_err());
        assert!(p.check_ip("hooks.internal", ip("192.168.0.1")).is_ok());
        assert!(p.check_ip("HOOKS.internal.", ip("127.0.0.1")).is_ok());
        assert!(p.check_ip("a.corp.example", ip("192.168.0.1")).is_ok());
        assert!(p.check_ip("evilcorp.example", ip("192.168.0.1")).is_err());
        assert!(p.check_ip("fd00::1", ip("fd00::1")).is_ok());
        assert!(p.check_ip("fd00::2", ip("fd00::2")).is_err());
        assert!(Policy::parse(&["not a host!".into()]).is_err());
        assert!(Policy::parse(&["10.0.0.0/33".into()]).is_err());
        Ok(())
    }

    #[tokio::test]
    async fn saving_refuses_literals_and_names_that_resolve_inside() {
        let p = Policy::default();
        for (url, want) in [
            (
                "http://127.0.0.1:9/hook",
                "refused: 127.0.0.1 is a loopback address",
            ),
            (
                "http://[::ffff:7f00:1]/hook",
                "refused: ::ffff:127.0.0.1 is a loopback address",
            ),
            (
                "http://169.254.169.254/latest/meta-data",
                "refused: 169.254.169.254 is a link-local address",
            ),
            ("http://[::1]:8080/", "refused: ::1 is a loopback address"),
            (
                "http://localhost:9/hook",
                "refused: localhost (127.0.0.1) is a loopback address",
            ),
            (
                "ftp://127.0.0.1/",
                "not a usable URL: use an http or https URL",
            ),
        ] {
            let got = p.check_url(url).await.map_err(|e| e.to_string());
            assert_eq!(got.err().as_deref(), Some(want), "{url}");
        }
    }

    /// A receiver on loopback that records whether anyone reached it, and
    /// answers with a redirect to another path of its own.
    async fn receiver() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                if uri.path() == "/redirect" {
                    (
                        axum::http::StatusCode::TEMPORARY_REDIRECT,
                        [(axum::http::header::LOCATION, "/elsewhere")],
                        "see elsewhere",
                    )
                } else {
                    (
                        axum::http::StatusCode::OK,
                        [(axum::http::header::LOCATION, "")],
                        "secret inside answer",
                    )
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ok();
        let Some(listener) = listener else {
            return (String::new(), hits);
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (addr, hits)
    }

    #[tokio::test]
    async fn the_client_refuses_before_connecting() {
        use std::sync::atomic::Ordering;
        let (addr, hits) = receiver().await;
        let port = addr.rsplit(':').next().unwrap_or("9").to_owned();
        let client = Outbound::new(Policy::default());
        for url in [
            format!("http://{addr}/hook"),
            format!("http://localhost:{port}/hook"),
            format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        ] {
            let got = client.post(&url, &[], b"{}".to_vec()).await;
            assert!(
                matches!(got, Err(OutboundError::Refused { .. })),
                "{url}: {got:?}"
            );
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0, "the receiver was reached");
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        use std::sync::atomic::Ordering;
        let (addr, hits) = receiver().await;
        let client = Outbound::new(Policy::parse(&["127.0.0.0/8".into()]).unwrap_or_default());
        let got = client
            .post(&format!("http://{addr}/redirect"), &[], b"{}".to_vec())
            .await;
        assert_eq!(got.err(), Some(OutboundError::Status(307)));
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the redirect was followed");
        let ok = client
            .post(&format!("http://{addr}/hook"), &[], b"{}".to_vec())
            .await
            .map(|a| (a.status, a.body));
        assert_eq!(ok, Ok((200, b"secret inside answer".to_vec())));
        // The allow list by name: localhost resolves to loopback.
        let by_name = Outbound::new(Policy::parse(&["localhost".into()]).unwrap_or_default());
        let port = addr.rsplit(':').next().unwrap_or("9");
        assert!(
            by_name
                .post(&format!("http://localhost:{port}/hook"), &[], Vec::new())
                .await
                .is_ok()
        );
    }
}
