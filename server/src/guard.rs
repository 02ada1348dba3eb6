//! The protections every request passes, as axum middleware: the client's address, a request timeout, the
//! same-origin check that stops cross-site forms (CSRF), and the security headers on every response.
use app::api::ctx::ClientAddr;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What the guards need to know about this installation.
#[derive(Clone)]
pub struct Guards {
    /// `https://roster.example.com`: the only origin the panel accepts changes from. `None` when no public URL was
    /// configured: then a request must come from the origin it was sent to (`http://` and its `Host`).
    pub origin: Option<String>,
    pub https: bool,
    /// The header a trusted reverse proxy puts the client address in.
    pub proxy_header: Option<HeaderName>,
    pub request_timeout: Duration,
}

impl Guards {
    /// `public_url` is the configured one, if any.
    pub fn new(
        public_url: Option<&str>,
        proxy_header: Option<&str>,
        request_timeout: Duration,
    ) -> anyhow::Result<Guards> {
        let origin = public_url
            .map(|u| origin_of(u).ok_or_else(|| anyhow::anyhow!("the public URL '{u}' is not an absolute http(s) URL")))
            .transpose()?;
        let proxy_header = proxy_header
            .map(|h| HeaderName::try_from(h).map_err(|_| anyhow::anyhow!("'{h}' is not a header name")))
            .transpose()?;
        let https = origin.as_deref().is_some_and(|o| o.starts_with("https://"));
        Ok(Guards { https, origin, proxy_header, request_timeout })
    }
}

/// `scheme://host[:port]` of a URL, lower-cased, without a default port: what browsers send as `Origin`.
pub fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = match (scheme.as_str(), uri.port_u16()) {
        ("http", Some(80)) | ("https", Some(443)) | (_, None) => String::new(),
        (_, Some(p)) => format!(":{p}"),
    };
    matches!(scheme.as_str(), "http" | "https").then(|| format!("{scheme}://{host}{port}"))
}

/// Puts the client's address in the request's extensions: the trusted proxy's header when one is configured (the
/// last address, the one the proxy added), else the connecting peer.
pub async fn client_addr(State(g): State<Arc<Guards>>, mut req: Request, next: Next) -> Response {
    // The last address of the last line: what the trusted proxy itself added, whatever the client sent before it.
    let from_proxy = g
        .proxy_header
        .as_ref()
        .and_then(|h| req.headers().get_all(h).iter().next_back())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|a| a.trim().parse::<std::net::IpAddr>().ok());
    let addr = from_proxy
        .or_else(|| req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    req.extensions_mut().insert(ClientAddr(addr));
    next.run(req).await
}

/// A request that takes longer than the configured timeout gets 503. A write cut off this way rolls back.
pub async fn timeout(State(g): State<Arc<Guards>>, req: Request, next: Next) -> Response {
    let scim = req.uri().path().starts_with("/scim/");
    match tokio::time::timeout(g.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            let detail = format!("the request took longer than {} s; retry it", g.request_timeout.as_secs());
            let e = crate::scim::error::ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, detail.clone());
            if scim { e.render(None) } else { (StatusCode::SERVICE_UNAVAILABLE, detail).into_response() }
        }
    }
}

/// CSRF protection for the panel: a request that may change something (anything but GET, HEAD and OPTIONS) must come
/// from roster's own pages, which browsers tell by `Origin`, or by `Referer` where a browser sends no `Origin`. A
/// request with neither, or from another origin, gets 403 and changes nothing. Another port, a sibling subdomain and a
/// page on localhost are other origins, although `SameSite=Lax` treats some of them as the same site.
pub async fn same_origin(State(g): State<Arc<Guards>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let sent = sender_origin(req.headers());
    // Without a configured public URL, a page of roster's is one served at the address this request was sent to.
    let own = g.origin.clone().or_else(|| {
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok())?;
        origin_of(&format!("http://{host}"))
    });
    if sent.is_some() && sent == own {
        return next.run(req).await;
    }
    let own = own.unwrap_or_else(|| "roster's own address".into());
    let from = sent.unwrap_or_else(|| "an unknown page (no Origin or Referer header)".into());
    tracing::warn!(from = %from, path = %req.uri().path(), "refused a cross-origin request to the panel");
    let message = format!(
        "roster refused this change: it was sent from {from}, not from roster's own pages at {own}. If you opened \
         roster at another address, use {own} or set ROSTER_PUBLIC_URL to the address you use."
    );
    let wants_html =
        req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if wants_html {
        let page = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Request refused · roster</title></head>\
             <body><main><h1>Request refused</h1><p>{}</p><p><a href=\"/\">Back to roster</a></p></main></body></html>",
            escape_html(&message)
        );
        (StatusCode::FORBIDDEN, Html(page)).into_response()
    } else {
        // The panel's server functions read errors as their JSON error type.
        let body = serde_json::to_string(&app::error::UiError::Message(message)).unwrap_or_else(|_| {
            r#"{"Message":"roster refused this change: it did not come from roster's own pages"}"#.into()
        });
        (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

fn sender_origin(headers: &HeaderMap) -> Option<String> {
    let value = |h: HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    match value(header::ORIGIN) {
        // "null" is what a sandboxed or privacy-sensitive context sends: not roster's own page.
        Some(o) => Some(origin_of(o).unwrap_or_else(|| o.to_owned())),
        None => value(header::REFERER).and_then(origin_of),
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Headers on every response: no MIME sniffing, no framing, no referrer to other sites, HSTS when the public URL is
/// https, a strict default CSP where the response set none (panel pages set their own, with the hydration nonce), and
/// `no-store` on everything but the static assets, so a page that shows a new token is never cached.
pub async fn security_headers(State(g): State<Arc<Guards>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let asset = path.starts_with("/pkg/") || path == "/favicon.ico" || path == "/favicon.svg";
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(h, header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    }
    if !asset {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    if g.https {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(origin_of("https://Roster.Example.com/scim/v2").as_deref(), Some("https://roster.example.com"));
        assert_eq!(origin_of("https://roster.example.com:443").as_deref(), Some("https://roster.example.com"));
        assert_eq!(origin_of("http://127.0.0.1:3000/").as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("ftp://x"), None);
        let mut h = HeaderMap::new();
        h.insert(header::REFERER, HeaderValue::from_static("http://127.0.0.1:3000/admins?x=1"));
        assert_eq!(sender_origin(&h).as_deref(), Some("http://127.0.0.1:3000"));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert_eq!(sender_origin(&h).as_deref(), Some("null"), "Origin wins over Referer");
    }
}
