//! Which address a request comes from. Behind a reverse proxy every peer is
//! the proxy, so limits and the audit log would count one client; the
//! proxies named in `trusted_proxies` are believed when they say, in
//! `X-Forwarded-For`, whom they forwarded for. Nobody else is believed, so a
//! client cannot choose its own address by sending the header itself.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::state::AppState;

/// The client's address, as [`TrustedProxies::client`] tells it; `None`
/// only when the server was started without peer addresses.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub fn of(parts: &Parts, state: &AppState) -> ClientAddr {
        ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ci| state.trusted_proxies.client(ci.0.ip(), &parts.headers)),
        )
    }

    /// The address, or the unspecified one when it is unknown, for limits.
    pub fn ip(&self) -> IpAddr {
        self.0.unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    pub fn to_option_string(self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(parts, state))
    }
}
