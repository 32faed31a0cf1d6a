//! Request guard in front of `/mcp`: Host and Origin checks against DNS rebinding,
//! and the optional bearer token.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// A browser origin, normalized: lowercase scheme and host, explicit port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The opaque `null` origin (sandboxed frames, `file:`).
    Null,
    Tuple {
        scheme: String,
        host: String,
        port: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an origin like http://localhost:3000 (scheme://host[:port])")]
pub struct OriginError(String);

impl FromStr for Origin {
    type Err = OriginError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let bad = || OriginError(raw.to_owned());
        let trimmed = raw.trim();
        if trimmed.eq_ignore_ascii_case("null") {
            return Ok(Origin::Null);
        }
        let (scheme, rest) = trimmed.split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(bad());
        }
        // Browsers never send a path; tolerate a trailing slash in configured values.
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return Err(bad());
        }
        let (host, port) = split_host_port(authority).ok_or_else(bad)?;
        let port = match port {
            Some(port) => port,
            None => default_port(&scheme).ok_or_else(bad)?,
        };
        Ok(Origin::Tuple {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Null => f.write_str("null"),
            Origin::Tuple { scheme, host, port } if host.contains(':') => {
                write!(f, "{scheme}://[{host}]:{port}")
            }
            Origin::Tuple { scheme, host, port } => write!(f, "{scheme}://{host}:{port}"),
        }
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Splits `host[:port]` / `[v6][:port]`; the host comes back without brackets.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.contains(':') => {
            Some((host, Some(port.parse().ok()?)))
        }
        Some(_) => None,
        None => Some((authority, None)),
    }
}

/// `localhost`, `*.localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Origin {
    fn is_loopback(&self) -> bool {
        match self {
            Origin::Null => false,
            Origin::Tuple { scheme, host, .. } => {
                (scheme == "http" || scheme == "https") && is_loopback_host(host)
            }
        }
    }
}

/// What the guard enforces; built once from the CLI.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Reject a `Host` header that is not loopback (off with --allow-non-loopback).
    pub loopback_host_only: bool,
    /// Origins accepted on top of the loopback ones.
    pub allowed_origins: Vec<Origin>,
    /// With --require-auth: the token every request must carry as a bearer.
    pub bearer_token: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Forbidden(String),
    Unauthorized,
}

impl GuardConfig {
    /// Checks the request target and headers.
    pub fn check_request(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), Rejection> {
        if self.loopback_host_only {
            // Two Hosts let a rebinding page pass one check and steer another reader.
            if headers.get_all(header::HOST).iter().nth(1).is_some() {
                return Err(Rejection::Forbidden(
                    "Forbidden: more than one Host header".into(),
                ));
            }
            // An absolute-form target (`POST http://evil.example/mcp`) names a host too.
            if let Some(authority) = uri.authority() {
                if !split_host_port(authority.as_str())
                    .is_some_and(|(host, _)| is_loopback_host(host))
                {
                    return Err(Rejection::Forbidden(format!(
                        "Forbidden: request target {authority} is not a loopback host"
                    )));
                }
            }
        }
        self.check(headers)
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        if self.loopback_host_only {
            // A missing Host is left to rmcp (400); browsers always send one.
            if let Some(host) = headers.get(header::HOST) {
                let host_ok = host
                    .to_str()
                    .ok()
                    .and_then(split_host_port)
                    .is_some_and(|(host, _)| is_loopback_host(host));
                if !host_ok {
                    return Err(Rejection::Forbidden(format!(
                        "Forbidden: Host {} is not a loopback host",
                        String::from_utf8_lossy(host.as_bytes())
                    )));
                }
            }
        }
        // No Origin header: not a browser, nothing to rebind.
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin_ok = origin
                .to_str()
                .ok()
                .and_then(|raw| raw.parse::<Origin>().ok())
                .is_some_and(|origin| {
                    origin.is_loopback() || self.allowed_origins.contains(&origin)
                });
            if !origin_ok {
                return Err(Rejection::Forbidden(format!(
                    "Forbidden: Origin {} is not allowed",
                    String::from_utf8_lossy(origin.as_bytes())
                )));
            }
        }
        if let Some(token) = &self.bearer_token {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|value| bearer(value.as_bytes()));
            if !presented.is_some_and(|presented| constant_time_eq(presented, token.as_bytes())) {
                return Err(Rejection::Unauthorized);
            }
        }
        Ok(())
    }
}

/// The credentials of `Bearer <token>` (scheme case-insensitive).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
}

/// Compares without an early exit, so timing does not reveal the matching prefix.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::Forbidden(message) => (StatusCode::FORBIDDEN, message).into_response(),
            Rejection::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                "Unauthorized: missing or wrong bearer token",
            )
                .into_response(),
        }
    }
}

/// axum middleware running [`GuardConfig::check`] before the MCP service.
pub async fn guard(
    State(config): State<Arc<GuardConfig>>,
    request: Request,
    next: Next,
) -> Response {
    match config.check_request(request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(rejection) => {
            tracing::warn!(?rejection, method = %request.method(), "rejected HTTP request");
            rejection.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(raw: &str) -> Origin {
        raw.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn config() -> GuardConfig {
        GuardConfig {
            loopback_host_only: true,
            allowed_origins: vec![origin("https://app.example")],
            bearer_token: None,
        }
    }

    #[test]
    fn parses_and_normalizes_origins() {
        assert_eq!(
            origin("HTTP://LocalHost:3000"),
            Origin::Tuple {
                scheme: "http".into(),
                host: "localhost".into(),
                port: 3000
            }
        );
        assert_eq!(
            origin("https://app.example/"),
            origin("https://app.example:443")
        );
        assert_eq!(origin("http://[::1]:8080").to_string(), "http://[::1]:8080");
        assert_eq!(origin("null"), Origin::Null);
        for bad in [
            "localhost:3000",
            "http://",
            "http://a/b",
            "http://a:x",
            "ftp://a",
            "http://::1:80",
        ] {
            assert!(bad.parse::<Origin>().is_err(), "{bad}");
        }
    }

    #[test]
    fn no_origin_is_allowed() {
        assert_eq!(
            config().check(&headers(&[("host", "127.0.0.1:5000")])),
            Ok(())
        );
        assert_eq!(config().check(&HeaderMap::new()), Ok(()));
    }

    #[test]
    fn loopback_origins_are_allowed() {
        for o in [
            "http://127.0.0.1",
            "http://127.0.0.1:5000",
            "http://localhost:3000",
            "http://[::1]:9",
            "https://localhost",
        ] {
            assert_eq!(config().check(&headers(&[("origin", o)])), Ok(()), "{o}");
        }
    }

    #[test]
    fn foreign_origins_are_forbidden() {
        for o in [
            "http://evil.example",
            "https://app.example:8443",
            "http://app.example",
            "null",
            "garbage",
            "http://127.0.0.1.evil.example",
        ] {
            assert!(
                matches!(
                    config().check(&headers(&[("origin", o)])),
                    Err(Rejection::Forbidden(_))
                ),
                "{o}"
            );
        }
    }

    #[test]
    fn listed_origins_are_allowed() {
        assert_eq!(
            config().check(&headers(&[("origin", "https://APP.example:443")])),
            Ok(())
        );
    }

    #[test]
    fn host_header_must_be_loopback() {
        for h in ["127.0.0.1:5000", "localhost:1", "[::1]:80", "localhost"] {
            assert_eq!(config().check(&headers(&[("host", h)])), Ok(()), "{h}");
        }
        for h in ["evil.example", "evil.example:5000", "10.0.0.1:5000", "[::1"] {
            assert!(
                matches!(
                    config().check(&headers(&[("host", h)])),
                    Err(Rejection::Forbidden(_))
                ),
                "{h}"
            );
        }
        let open = GuardConfig {
            loopback_host_only: false,
            ..config()
        };
        assert_eq!(open.check(&headers(&[("host", "evil.example")])), Ok(()));
    }

    #[test]
    fn duplicate_hosts_and_foreign_absolute_targets_are_forbidden() {
        let uri = |raw: &str| raw.parse::<Uri>().unwrap();
        let two = headers(&[("host", "127.0.0.1:5000"), ("host", "evil.example")]);
        assert!(matches!(
            config().check_request(&uri("/mcp"), &two),
            Err(Rejection::Forbidden(_))
        ));
        let one = headers(&[("host", "127.0.0.1:5000")]);
        for target in ["http://evil.example/mcp", "http://10.0.0.1:5000/mcp"] {
            assert!(
                matches!(
                    config().check_request(&uri(target), &one),
                    Err(Rejection::Forbidden(_))
                ),
                "{target}"
            );
        }
        for target in ["/mcp", "http://127.0.0.1:5000/mcp", "http://localhost/mcp"] {
            assert_eq!(
                config().check_request(&uri(target), &one),
                Ok(()),
                "{target}"
            );
        }
        let open = GuardConfig {
            loopback_host_only: false,
            ..config()
        };
        assert_eq!(
            open.check_request(&uri("http://evil.example/mcp"), &two),
            Ok(())
        );
    }

    #[test]
    fn bearer_token_is_required_when_configured() {
        let config = GuardConfig {
            bearer_token: Some(Arc::from("s3cret")),
            ..config()
        };
        assert_eq!(
            config.check(&HeaderMap::new()),
            Err(Rejection::Unauthorized)
        );
        for bad in [
            "Bearer nope",
            "Bearer s3cre",
            "Bearer s3crett",
            "Basic s3cret",
            "s3cret",
            "Bearer",
        ] {
            assert_eq!(
                config.check(&headers(&[("authorization", bad)])),
                Err(Rejection::Unauthorized),
                "{bad}"
            );
        }
        for good in ["Bearer s3cret", "bearer s3cret", "BEARER  s3cret "] {
            assert_eq!(
                config.check(&headers(&[("authorization", good)])),
                Ok(()),
                "{good}"
            );
        }
    }

    #[test]
    fn origin_is_checked_before_auth() {
        let config = GuardConfig {
            bearer_token: Some(Arc::from("t")),
            ..config()
        };
        assert!(matches!(
            config.check(&headers(&[("origin", "http://evil.example")])),
            Err(Rejection::Forbidden(_))
        ));
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("127.1.2.3"));
        assert!(is_loopback_host("::1"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("LOCALHOST"));
        assert!(is_loopback_host("app.localhost"));
        assert!(!is_loopback_host("0.0.0.0"));
        assert!(!is_loopback_host("::"));
        assert!(!is_loopback_host("localhost.evil.example"));
        assert!(!is_loopback_host("192.168.1.1"));
    }
}
