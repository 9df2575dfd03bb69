//! Which proxies' forwarding headers count, and the client they name.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarding headers count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("trusted_proxies: `{e}` is not an address or range"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let v4 = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.0
            .iter()
            .any(|n| n.contains(&ip) || v4.is_some_and(|v| n.contains(&v)))
    }

    /// The client behind `peer`: walking `X-Forwarded-For` from the right
    /// (the hop nearest to us), the first address that is not a trusted
    /// proxy. A malformed entry stops the walk at the last trusted hop.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            if let Ok(v) = v.parse() {
                h.append("x-forwarded-for", v);
            }
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn only_trusted_proxies_are_believed() -> Result<(), String> {
        let t = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()])?;
        // No proxy: the header is the client's own words.
        assert_eq!(
            t.client(ip("203.0.113.5"), &headers(&["1.2.3.4"])),
            ip("203.0.113.5")
        );
        // One proxy.
        assert_eq!(
            t.client(ip("10.0.0.2"), &headers(&["198.51.100.7"])),
            ip("198.51.100.7")
        );
        // A client that forges the header behind a chain of two proxies is
        // still seen at the address the outer proxy saw.
        assert_eq!(
            t.client(
                ip("10.0.0.2"),
                &headers(&["6.6.6.6, 198.51.100.7", "10.0.0.9"])
            ),
            ip("198.51.100.7")
        );
        // Garbage stops the walk.
        assert_eq!(t.client(ip("::1"), &headers(&["nonsense"])), ip("::1"));
        assert_eq!(
            t.client(ip("::ffff:10.1.1.1"), &headers(&["192.0.2.1"])),
            ip("192.0.2.1")
        );
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
        Ok(())
    }
}
