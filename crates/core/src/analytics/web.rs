//! Web analytics over page views, as Plausible and PostHog's web view show
//! them: sessions, visitors, views per session, bounce rate and duration;
//! top, entry and exit pages; referrers with search engines and social
//! networks grouped, and the channel each belongs to; UTM source, medium
//! and campaign; devices, browsers and operating systems.
//!
//! Definitions:
//! - a **session** is one person's page views that share PostHog's
//!   `$session_id`; views without one start a new session after 30 minutes
//!   without a view;
//! - a **bounce** is a session of one page view;
//! - a session's **duration** is the time from its first view to its last;
//! - a session's referrer, UTM parameters, device, browser and OS are those
//!   of its first view (its entry page);
//! - a session's **country** is its first view's `$geoip_country_name`
//!   (else `$geoip_country_code`), which liveops sets at ingest from a
//!   GeoIP database when one is configured. Without it, a view has none
//!   and is counted under `(none)`; nothing is guessed.

use std::borrow::Cow;

use hashbrown::HashMap;

/// The inactivity after which a view without `$session_id` starts a new
/// session.
pub const SESSION_GAP_MS: i64 = 30 * 60_000;

/// The event page views are.
pub const PAGEVIEW: &str = "$pageview";

/// The properties a page view is read for, by the names the PostHog SDKs
/// send, in the order of [`PageView::from_values`].
pub const PROPERTIES: [&str; 13] = [
    "$session_id",
    "$current_url",
    "$pathname",
    "$referrer",
    "$referring_domain",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "$browser",
    "$os",
    "$device_type",
    "$geoip_country_name",
    "$geoip_country_code",
];

/// One page view: who (a person, or a distinct id nobody is linked to),
/// when, and what web analytics reads of its properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageView {
    pub who: String,
    pub at_ms: i64,
    pub session_id: Option<String>,
    pub url: Option<String>,
    pub pathname: Option<String>,
    pub referrer: Option<String>,
    pub referring_domain: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub browser: Option<String>,
    pub os: Option<String>,
    pub device_type: Option<String>,
    pub country: Option<String>,
}

impl PageView {
    /// A view from the texts of [`PROPERTIES`], in that order; blank ones
    /// count as absent.
    pub fn from_values(who: String, at_ms: i64, values: [Option<String>; 13]) -> PageView {
        let [
            session_id,
            url,
            pathname,
            referrer,
            referring_domain,
            utm_source,
            utm_medium,
            utm_campaign,
            browser,
            os,
            device_type,
            country_name,
            country_code,
        ] = values.map(|v| {
            v.map(|s| {
                if s.trim().len() == s.len() {
                    s
                } else {
                    s.trim().to_owned()
                }
            })
            .filter(|s| !s.is_empty())
        });
        PageView {
            who,
            at_ms,
            session_id,
            url,
            pathname,
            referrer,
            referring_domain,
            utm_source,
            utm_medium,
            utm_campaign,
            browser,
            os,
            device_type,
            country: country_name.or(country_code),
        }
    }

    /// The page: `$pathname`, else the path of `$current_url` (without
    /// query or fragment), else `(unknown)`.
    pub fn page(&self) -> String {
        self.page_str().to_owned()
    }

    /// [`PageView::page`], borrowed from the view.
    fn page_str(&self) -> &str {
        if let Some(p) = &self.pathname {
            return p;
        }
        match &self.url {
            Some(url) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let path = rest.find('/').map_or("/", |i| &rest[i..]);
                let path = path.split(['?', '#']).next().unwrap_or("/");
                if path.is_empty() { "/" } else { path }
            }
            None => UNKNOWN,
        }
    }

    /// The domain the visitor came from, without `www.`; `None` for a
    /// direct visit (no referrer, or PostHog's `$direct`).
    pub fn referring_domain(&self) -> Option<String> {
        let from_domain = self
            .referring_domain
            .as_deref()
            .filter(|d| *d != "$direct")
            .map(str::to_owned);
        let domain = from_domain.or_else(|| {
            let r = self.referrer.as_deref().filter(|r| *r != "$direct")?;
            let rest = r.split_once("://").map_or(r, |(_, rest)| rest);
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            let host = host.split(':').next().unwrap_or("");
            (!host.is_empty()).then(|| host.to_owned())
        })?;
        let domain = domain.to_ascii_lowercase();
        Some(domain.strip_prefix("www.").unwrap_or(&domain).to_owned())
    }
}

/// What a page view without a page says.
pub const UNKNOWN: &str = "(unknown)";
/// The referrer of a direct visit.
pub const DIRECT: &str = "(direct)";
/// The value of a property a session's first view did not have.
pub const NONE: &str = "(none)";

/// Where visitors come from, by their referrer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Direct,
    Search,
    Social,
    Referral,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Direct => "direct",
            Channel::Search => "search",
            Channel::Social => "social",
            Channel::Referral => "referral",
        }
    }
}

/// Search engines and social networks by the domains they refer from; a
/// domain matches an entry when it is the entry or ends with `.` and it.
/// Google, Yahoo and Yandex refer from a domain per country, matched by
/// their names (`google.de`, `google.co.uk`, `search.yahoo.co.jp`; not
/// their other services, such as `mail.google.com`).
const KNOWN: [(&str, &str, Channel); 22] = [
    ("bing.com", "Bing", Channel::Search),
    ("duckduckgo.com", "DuckDuckGo", Channel::Search),
    ("baidu.com", "Baidu", Channel::Search),
    ("ecosia.org", "Ecosia", Channel::Search),
    ("search.brave.com", "Brave Search", Channel::Search),
    ("startpage.com", "Startpage", Channel::Search),
    ("facebook.com", "Facebook", Channel::Social),
    ("fb.com", "Facebook", Channel::Social),
    ("t.co", "X (Twitter)", Channel::Social),
    ("twitter.com", "X (Twitter)", Channel::Social),
    ("x.com", "X (Twitter)", Channel::Social),
    ("linkedin.com", "LinkedIn", Channel::Social),
    ("lnkd.in", "LinkedIn", Channel::Social),
    ("reddit.com", "Reddit", Channel::Social),
    ("instagram.com", "Instagram", Channel::Social),
    ("youtube.com", "YouTube", Channel::Social),
    ("youtu.be", "YouTube", Channel::Social),
    ("news.ycombinator.com", "Hacker News", Channel::Social),
    ("mastodon.social", "Mastodon", Channel::Social),
    ("bsky.app", "Bluesky", Channel::Social),
    ("pinterest.com", "Pinterest", Channel::Social),
    ("tiktok.com", "TikTok", Channel::Social),
];

/// A referring domain's name (a search engine's or network's, or the
/// domain itself) and its channel.
pub fn source(domain: Option<&str>) -> (String, Channel) {
    let Some(d) = domain else {
        return (DIRECT.to_owned(), Channel::Direct);
    };
    for (name, engine) in [
        ("google", "Google"),
        ("yahoo", "Yahoo"),
        ("yandex", "Yandex"),
    ] {
        let labels: Vec<&str> = d.split('.').collect();
        // google.com, google.co.uk, search.yahoo.co.jp; not
        // googleusercontent.com, nor mail.google.com (not a search).
        if let Some(i) = labels.iter().position(|l| *l == name)
            && labels.len() - i <= 3
            && i + 1 < labels.len()
            && labels[..i].iter().all(|l| matches!(*l, "www" | "search"))
        {
            return (engine.to_owned(), Channel::Search);
        }
    }
    for (known, name, channel) in KNOWN {
        if d == known || d.ends_with(&format!(".{known}")) {
            return (name.to_owned(), channel);
        }
    }
    (d.to_owned(), Channel::Referral)
}

/// One value of a breakdown: how many views (for pages) or sessions (for
/// everything else) had it, and how many visitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub value: String,
    pub count: u64,
    pub visitors: u64,
}

/// The web overview of a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub visitors: u64,
    pub page_views: u64,
    pub sessions: u64,
    /// Page views ÷ sessions.
    pub views_per_session: f64,
    /// Bounces ÷ sessions, 0 to 1.
    pub bounce_rate: f64,
    /// The mean session duration, in milliseconds.
    pub mean_session_ms: f64,
    /// The median session duration, in milliseconds.
    pub median_session_ms: f64,
    pub pages: Vec<Ranked>,
    pub entry_pages: Vec<Ranked>,
    pub exit_pages: Vec<Ranked>,
    pub referrers: Vec<Ranked>,
    pub channels: Vec<Ranked>,
    pub utm_sources: Vec<Ranked>,
    pub utm_mediums: Vec<Ranked>,
    pub utm_campaigns: Vec<Ranked>,
    pub devices: Vec<Ranked>,
    pub browsers: Vec<Ranked>,
    pub oses: Vec<Ranked>,
    pub countries: Vec<Ranked>,
}

/// A session's value of a property its first view did not have.
fn or_none(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or(NONE)
}

/// Counts per value, with the visitors behind each. Values are added in
/// the order of their visitors' numbers (views sorted by visitor), so a
/// visitor is new to a value exactly when it differs from the last one
/// that value saw. Runs of one value (most views share their page, most
/// sessions their UTM values) are counted without hashing it again.
#[derive(Default)]
struct Tally<'a> {
    index: HashMap<Cow<'a, str>, usize>,
    /// Per value, in the order first met: its text, count, visitors and
    /// the last visitor's number.
    rows: Vec<(Cow<'a, str>, u64, u64, u32)>,
    last: Option<usize>,
}

impl<'a> Tally<'a> {
    fn add(&mut self, value: impl Into<Cow<'a, str>>, visitor: u32) {
        let value = value.into();
        let slot = match self.last {
            Some(l) if self.rows[l].0 == value => l,
            _ => {
                let next = self.rows.len();
                let slot = *self.index.entry(value.clone()).or_insert(next);
                if slot == next {
                    self.rows.push((value, 0, 0, u32::MAX));
                }
                self.last = Some(slot);
                slot
            }
        };
        let row = &mut self.rows[slot];
        row.1 += 1;
        if row.3 != visitor {
            row.3 = visitor;
            row.2 += 1;
        }
    }

    /// The `top` values by count, then by value.
    fn ranked(self, top: usize) -> Vec<Ranked> {
        let mut out: Vec<Ranked> = self
            .rows
            .into_iter()
            .map(|(value, count, visitors, _)| Ranked {
                value: value.into_owned(),
                count,
                visitors,
            })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        out.truncate(top);
        out
    }
}

/// Every breakdown of the overview, as it is counted.
#[derive(Default)]
struct Tallies<'a> {
    pages: Tally<'a>,
    entry: Tally<'a>,
    exit: Tally<'a>,
    referrers: Tally<'a>,
    channels: Tally<'a>,
    utm_source: Tally<'a>,
    utm_medium: Tally<'a>,
    utm_campaign: Tally<'a>,
    devices: Tally<'a>,
    browsers: Tally<'a>,
    oses: Tally<'a>,
    countries: Tally<'a>,
}

/// The overview of `views` (in any order), each breakdown cut to its `top`
/// values.
pub fn overview(mut views: Vec<PageView>, top: usize) -> Overview {
    // Each view's visitor, numbered as first met; then the views in order
    // of visitor and time (ties in their given order), sorted by small
    // keys and moved once.
    let mut keys: Vec<(u32, i64, u32)> = {
        let mut numbers: HashMap<&str, u32> = HashMap::with_capacity(views.len() / 4);
        views
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let next = numbers.len() as u32;
                (
                    *numbers.entry(v.who.as_str()).or_insert(next),
                    v.at_ms,
                    i as u32,
                )
            })
            .collect()
    };
    keys.sort_unstable();
    let views: Vec<PageView> = keys
        .iter()
        .map(|k| std::mem::take(&mut views[k.2 as usize]))
        .collect();
    let visitor: Vec<u32> = keys.iter().map(|k| k.0).collect();
    drop(keys);
    let visitors = visitor.iter().max().map_or(0, |m| u64::from(*m) + 1);
    let view = |k: usize| &views[k];
    let who = |k: usize| visitor[k];
    // Each session as the range of its views' positions.
    let mut sessions: Vec<std::ops::Range<usize>> = Vec::new();
    for k in 0..views.len() {
        let starts = match k.checked_sub(1) {
            None => true,
            Some(p) => {
                let (prev, v) = (view(p), view(k));
                who(p) != who(k)
                    || match (&prev.session_id, &v.session_id) {
                        (Some(a), Some(b)) => a != b,
                        _ => v.at_ms - prev.at_ms > SESSION_GAP_MS,
                    }
            }
        };
        match sessions.last_mut() {
            Some(s) if !starts => s.end = k + 1,
            _ => sessions.push(k..k + 1),
        }
    }
    let mut t = Tallies::default();
    for k in 0..views.len() {
        t.pages.add(view(k).page_str(), who(k));
    }
    let mut durations: Vec<i64> = Vec::with_capacity(sessions.len());
    let mut bounces = 0u64;
    for s in &sessions {
        let (first, last) = (view(s.start), view(s.end - 1));
        let who = who(s.start);
        durations.push(last.at_ms - first.at_ms);
        if s.len() == 1 {
            bounces += 1;
        }
        t.entry.add(first.page_str(), who);
        t.exit.add(last.page_str(), who);
        let (name, channel) = match first.referring_domain() {
            None => (Cow::Borrowed(DIRECT), Channel::Direct),
            Some(d) => {
                let (name, channel) = source(Some(&d));
                (Cow::Owned(name), channel)
            }
        };
        t.referrers.add(name, who);
        t.channels.add(channel.as_str(), who);
        t.utm_source.add(or_none(&first.utm_source), who);
        t.utm_medium.add(or_none(&first.utm_medium), who);
        t.utm_campaign.add(or_none(&first.utm_campaign), who);
        t.devices.add(or_none(&first.device_type), who);
        t.browsers.add(or_none(&first.browser), who);
        t.oses.add(or_none(&first.os), who);
        t.countries.add(or_none(&first.country), who);
    }
    let n = sessions.len() as f64;
    let share = |a: f64| if n == 0.0 { 0.0 } else { a / n };
    let mean_session_ms = share(durations.iter().sum::<i64>() as f64);
    durations.sort_unstable();
    let median_session_ms = match durations.len() {
        0 => 0.0,
        k if k % 2 == 1 => durations[k / 2] as f64,
        k => (durations[k / 2 - 1] + durations[k / 2]) as f64 / 2.0,
    };
    Overview {
        visitors,
        page_views: views.len() as u64,
        sessions: sessions.len() as u64,
        views_per_session: share(views.len() as f64),
        bounce_rate: share(bounces as f64),
        mean_session_ms,
        median_session_ms,
        pages: t.pages.ranked(top),
        entry_pages: t.entry.ranked(top),
        exit_pages: t.exit.ranked(top),
        referrers: t.referrers.ranked(top),
        channels: t.channels.ranked(top),
        utm_sources: t.utm_source.ranked(top),
        utm_mediums: t.utm_medium.ranked(top),
        utm_campaigns: t.utm_campaign.ranked(top),
        devices: t.devices.ranked(top),
        browsers: t.browsers.ranked(top),
        oses: t.oses.ranked(top),
        countries: t.countries.ranked(top),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn view(who: &str, at_min: i64, path: &str) -> PageView {
        PageView {
            who: who.into(),
            at_ms: at_min * MIN,
            pathname: Some(path.into()),
            ..PageView::default()
        }
    }

    fn values(r: &[Ranked]) -> Vec<(&str, u64, u64)> {
        r.iter()
            .map(|r| (r.value.as_str(), r.count, r.visitors))
            .collect()
    }

    #[test]
    fn sessions_end_after_thirty_quiet_minutes_or_a_new_session_id() {
        let mut views = vec![
            // Ann: two views 10 minutes apart, then one 31 minutes later.
            view("ann", 0, "/"),
            view("ann", 10, "/pricing"),
            view("ann", 41, "/docs"),
            // Bob: one view, a bounce.
            view("bob", 5, "/pricing"),
            // Cat: session ids decide, whatever the gap.
            view("cat", 0, "/"),
            view("cat", 50, "/signup"),
            view("cat", 51, "/"),
        ];
        views[4].session_id = Some("s1".into());
        views[5].session_id = Some("s1".into());
        views[6].session_id = Some("s2".into());
        let o = overview(views, 10);
        assert_eq!((o.visitors, o.page_views, o.sessions), (3, 7, 5));
        // Ann's second session, Bob's and Cat's second are single views.
        assert!((o.bounce_rate - 3.0 / 5.0).abs() < 1e-12);
        assert!((o.views_per_session - 7.0 / 5.0).abs() < 1e-12);
        // Durations 10, 0, 0, 50, 0 minutes.
        assert_eq!(o.mean_session_ms, 12.0 * MIN as f64);
        assert_eq!(o.median_session_ms, 0.0);
        assert_eq!(
            values(&o.pages),
            [
                ("/", 3, 2),
                ("/pricing", 2, 2),
                ("/docs", 1, 1),
                ("/signup", 1, 1)
            ]
        );
        assert_eq!(
            values(&o.entry_pages),
            [("/", 3, 2), ("/docs", 1, 1), ("/pricing", 1, 1)]
        );
        // Ann leaves from /pricing and /docs, Bob from /pricing, Cat from
        // /signup and /.
        assert_eq!(
            values(&o.exit_pages),
            [
                ("/pricing", 2, 2),
                ("/", 1, 1),
                ("/docs", 1, 1),
                ("/signup", 1, 1)
            ]
        );
    }

    #[test]
    fn exit_pages_are_each_sessions_last_view() {
        let views = vec![
            view("ann", 0, "/"),
            view("ann", 1, "/pricing"),
            view("bob", 0, "/"),
            view("bob", 2, "/pricing"),
            view("cat", 0, "/docs"),
        ];
        let o = overview(views, 10);
        assert_eq!(values(&o.exit_pages), [("/pricing", 2, 2), ("/docs", 1, 1)]);
        assert_eq!(values(&o.entry_pages), [("/", 2, 2), ("/docs", 1, 1)]);
    }

    #[test]
    fn pages_come_from_the_url_when_no_pathname_was_sent() {
        let mut v = PageView {
            url: Some("https://shop.example/cart?id=3#top".into()),
            ..PageView::default()
        };
        assert_eq!(v.page(), "/cart");
        v.url = Some("https://shop.example".into());
        assert_eq!(v.page(), "/");
        v.url = None;
        assert_eq!(v.page(), UNKNOWN);
    }

    #[test]
    fn referrers_group_search_engines_and_social_networks() {
        let cases = [
            (Some("www.google.com"), "Google", Channel::Search),
            (Some("google.co.uk"), "Google", Channel::Search),
            (Some("search.yahoo.co.jp"), "Yahoo", Channel::Search),
            (
                Some("googleusercontent.com"),
                "googleusercontent.com",
                Channel::Referral,
            ),
            (
                Some("mail.google.com"),
                "mail.google.com",
                Channel::Referral,
            ),
            (Some("duckduckgo.com"), "DuckDuckGo", Channel::Search),
            (Some("t.co"), "X (Twitter)", Channel::Social),
            (Some("old.reddit.com"), "Reddit", Channel::Social),
            (Some("news.ycombinator.com"), "Hacker News", Channel::Social),
            (
                Some("blog.example.org"),
                "blog.example.org",
                Channel::Referral,
            ),
            (None, DIRECT, Channel::Direct),
        ];
        for (domain, name, channel) in cases {
            let d = domain.map(|d| d.strip_prefix("www.").unwrap_or(d));
            assert_eq!(source(d), (name.to_owned(), channel), "{domain:?}");
        }
        let mut v = PageView {
            referrer: Some("https://www.Google.de/search?q=x".into()),
            ..PageView::default()
        };
        assert_eq!(v.referring_domain().as_deref(), Some("google.de"));
        v.referring_domain = Some("$direct".into());
        v.referrer = Some("$direct".into());
        assert_eq!(v.referring_domain(), None);
        v.referring_domain = Some("www.news.ycombinator.com".into());
        assert_eq!(
            v.referring_domain().as_deref(),
            Some("news.ycombinator.com")
        );
    }

    #[test]
    fn a_session_is_attributed_to_its_first_view() {
        let mut first = view("ann", 0, "/");
        first.utm_source = Some("newsletter".into());
        first.utm_campaign = Some("nov".into());
        first.referring_domain = Some("www.google.com".into());
        first.browser = Some("Firefox".into());
        let mut second = view("ann", 5, "/pricing");
        second.utm_source = Some("ads".into());
        let bob = view("bob", 0, "/");
        let o = overview(vec![second, bob, first], 10);
        assert_eq!(
            values(&o.utm_sources),
            [("(none)", 1, 1), ("newsletter", 1, 1)]
        );
        assert_eq!(values(&o.utm_campaigns), [("(none)", 1, 1), ("nov", 1, 1)]);
        assert_eq!(values(&o.referrers), [("(direct)", 1, 1), ("Google", 1, 1)]);
        assert_eq!(values(&o.channels), [("direct", 1, 1), ("search", 1, 1)]);
        assert_eq!(values(&o.browsers), [("(none)", 1, 1), ("Firefox", 1, 1)]);
    }

    #[test]
    fn nothing_viewed_gives_zeros_not_nan() {
        let o = overview(Vec::new(), 10);
        assert_eq!((o.visitors, o.sessions, o.page_views), (0, 0, 0));
        assert_eq!(
            (o.bounce_rate, o.views_per_session, o.mean_session_ms),
            (0.0, 0.0, 0.0)
        );
        assert!(o.pages.is_empty());
    }

    #[test]
    fn blank_values_count_as_absent() {
        let mut values: [Option<String>; 13] = Default::default();
        values[2] = Some("  ".into());
        values[8] = Some("Chrome".into());
        values[12] = Some("DE".into());
        let v = PageView::from_values("ann".into(), 7, values.clone());
        assert_eq!(v.pathname, None);
        assert_eq!(v.browser.as_deref(), Some("Chrome"));
        assert_eq!(
            v.country.as_deref(),
            Some("DE"),
            "the code when no name came"
        );
        values[11] = Some("Germany".into());
        let v = PageView::from_values("ann".into(), 7, values);
        assert_eq!(v.country.as_deref(), Some("Germany"));
    }
}
