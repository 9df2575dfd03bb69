//! Machine intake, the third adapter beside the API and the pages: the
//! endpoints SDKs, exporters, alert senders, mail providers, Git hosts, CI
//! and the public feedback form post to, each authenticated by a key of its
//! purpose.

pub mod analytics;
pub mod errors;
pub mod performance;
pub mod releases;
pub mod support;
