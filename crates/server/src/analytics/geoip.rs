//! Countries at ingest, from a GeoIP database the operator provides
//! (`geoip_database`: MaxMind's GeoLite2 or GeoIP2 Country or City `.mmdb`,
//! read with the `maxminddb` crate). An event gets PostHog's
//! `$geoip_country_code` and `$geoip_country_name` from its `$ip` property
//! (a server-side SDK or Segment's `context.ip` forwarding its user's
//! address), else from the address the request came from. The address
//! itself is not stored. Events that already carry a country keep it, and
//! an address the database does not know gets none: nothing is guessed.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use liveops_core::analytics::event::Event;
use serde::Deserialize;

/// An open GeoIP database.
pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("database_type", &self.reader.metadata.database_type)
            .finish()
    }
}

/// The part of a Country or City record that names the country.
#[derive(Debug, Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<Country<'a>>,
}

#[derive(Debug, Deserialize)]
struct Country<'a> {
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: BTreeMap<&'a str, &'a str>,
}

impl GeoIp {
    /// Reads the database into memory; a file that is not one is refused,
    /// saying why.
    pub fn open(path: &Path) -> Result<GeoIp, String> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| format!("geoip_database {}: {e}", path.display()))?;
        Ok(GeoIp { reader })
    }

    /// The country of an address: its ISO code and English name, when the
    /// database knows them.
    pub fn country(&self, ip: IpAddr) -> Option<(String, Option<String>)> {
        let found = self.reader.lookup(ip).ok()?;
        let record: Record = found.decode().ok()??;
        let c = record.country?;
        let code = c.iso_code?.to_owned();
        Some((code, c.names.get("en").map(|n| (*n).to_owned())))
    }

    /// Adds the country to each event that has none, from its `$ip` or
    /// else `client`.
    pub fn enrich(&self, events: &mut [Event], client: Option<IpAddr>) {
        for e in events {
            let Ok(serde_json::Value::Object(mut props)) =
                serde_json::from_str::<serde_json::Value>(&e.properties)
            else {
                continue;
            };
            if props.contains_key("$geoip_country_code") {
                continue;
            }
            let ip = props
                .get("$ip")
                .and_then(|v| v.as_str())
                .and_then(|s| s.trim().parse::<IpAddr>().ok())
                .or(client);
            let Some((code, name)) = ip.and_then(|ip| self.country(ip)) else {
                continue;
            };
            props.insert("$geoip_country_code".into(), code.into());
            if let Some(name) = name {
                props.insert("$geoip_country_name".into(), name.into());
            }
            if let Ok(text) = serde_json::to_string(&props) {
                e.properties = text;
            }
        }
    }
}
