//! The panel's browser assets (`/pkg/roster.js`, `/pkg/roster_bg.wasm`, `/pkg/roster.css`) and the favicon.
//!
//! A build with the `embed-site` feature carries the assets inside the binary, gzipped at build time (`build.rs`),
//! so roster serves the whole panel from any working directory with no files beside it. `--site-root` serves them
//! from a folder instead, for development. The names carry no content hash (leptos's hydration script asks for
//! `roster.js` and `roster_bg.wasm`), so browsers revalidate them (`no-cache`) against a content ETag, which costs a
//! 304 per page load rather than a stale panel after an upgrade.
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::path::PathBuf;
use std::sync::Arc;

/// One asset in the binary: its bytes, gzipped at build time, and a validator of its content.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub etag: &'static str,
    pub etag_gzip: &'static str,
    pub raw: &'static [u8],
    pub gzip: &'static [u8],
}

// `EMBEDDED`: the assets, or none without the `embed-site` feature.
include!(concat!(env!("OUT_DIR"), "/embedded_site.rs"));

const FAVICON: &[u8] = include_bytes!("../../style/favicon.svg");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");

/// Where the assets come from, chosen once at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// Inside the binary.
    Embedded,
    /// A folder with `pkg/` in it (`--site-root`, or `target/site` in a development build).
    Folder(PathBuf),
    /// Nowhere: the panel renders, unstyled and without interactivity.
    Missing,
}

impl Site {
    /// `--site-root` wins; then the embedded copy; then `target/site` when it holds a build (the development default,
    /// from the repository root). Says at start which one serves, and says clearly when there is none.
    pub fn resolve(site_root: Option<&str>) -> Site {
        let site = match site_root {
            Some(root) => Site::Folder(PathBuf::from(root)),
            None if !EMBEDDED.is_empty() => Site::Embedded,
            None if std::path::Path::new("target/site/pkg/roster.js").is_file() => Site::Folder("target/site".into()),
            None => Site::Missing,
        };
        match &site {
            Site::Embedded => tracing::info!("serving the panel's assets from the binary"),
            Site::Folder(root) if root.join("pkg/roster.js").is_file() => {
                tracing::info!(site_root = %root.display(), "serving the panel's assets from a folder");
            }
            Site::Folder(root) => tracing::warn!(
                site_root = %root.display(),
                "the site root has no pkg/roster.js: the panel will have no stylesheet and no interactivity; build it \
                 with scripts/build-site.sh"
            ),
            Site::Missing => tracing::warn!(
                "no browser assets: this binary was built without the embed-site feature and no --site-root is set, \
                 so the panel will have no stylesheet and no interactivity; build with scripts/build-site.sh and \
                 `--features embed-site`, or pass --site-root"
            ),
        }
        site
    }

    /// The folder leptos is told about (its 404 fallback looks there); unused when embedded.
    pub fn root(&self) -> String {
        match self {
            Site::Folder(root) => root.display().to_string(),
            Site::Embedded | Site::Missing => "target/site".into(),
        }
    }

    /// `/pkg/{file}`, `/favicon.svg` and `/favicon.ico`.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let site = Arc::new(self);
        Router::new()
            .route(
                "/pkg/{file}",
                get(move |Path(file): Path<String>, headers: HeaderMap| asset(site.clone(), file, headers)),
            )
            .route("/favicon.svg", get(favicon))
            .route("/favicon.ico", get(favicon))
    }
}

async fn asset(site: Arc<Site>, file: String, headers: HeaderMap) -> Response {
    match &*site {
        Site::Embedded => match EMBEDDED.iter().find(|a| a.name == file) {
            Some(a) => embedded(a, &headers),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        Site::Folder(root) => from_folder(root, &file).await,
        Site::Missing => StatusCode::NOT_FOUND.into_response(),
    }
}

fn embedded(a: &'static Asset, headers: &HeaderMap) -> Response {
    // The gzipped and the plain body are different representations, so they carry different strong ETags
    // (RFC 9110 §8.8.3).
    let gzip = accepts_gzip(headers);
    let tag = if gzip { a.etag_gzip } else { a.etag };
    let etag = HeaderValue::from_static(tag);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut res = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        ([(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))], a.gzip).into_response()
    } else {
        a.raw.into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    h.insert(header::ETAG, etag);
    h.insert(header::CACHE_CONTROL, NO_CACHE);
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

/// Development: read from the folder on each request, so a rebuilt site shows on reload. Only the three names a
/// build produces are served, which also keeps the path inside the folder.
async fn from_folder(root: &std::path::Path, file: &str) -> Response {
    let Some(content_type) = content_type(file) else { return StatusCode::NOT_FOUND.into_response() };
    match tokio::fs::read(root.join("pkg").join(file)).await {
        Ok(bytes) => {
            ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CACHE_CONTROL, NO_CACHE)], bytes)
                .into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The content type of each file a site build produces; `None` for anything else.
pub fn content_type(file: &str) -> Option<&'static str> {
    match file {
        "roster.js" => Some("text/javascript; charset=utf-8"),
        "roster_bg.wasm" => Some("application/wasm"),
        "roster.css" => Some("text/css; charset=utf-8"),
        _ => None,
    }
}

/// Whether `Accept-Encoding` takes gzip: named (or `*`) with a weight above zero (RFC 9110 §12.5.3; `q` in any case).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let codings = headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok());
    codings.flat_map(|v| v.split(',')).any(|coding| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let weight = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map(|(_, v)| v.trim().parse::<f32>().unwrap_or(0.0))
            .unwrap_or(1.0);
        (name.eq_ignore_ascii_case("gzip") || name == "*") && weight > 0.0
    })
}

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        FAVICON,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("")));
        accepts_gzip(&h)
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        for yes in ["gzip", "br, gzip", "GZIP;q=0.5", "*", "deflate, *;q=0.1"] {
            assert!(accepts(yes), "{yes}");
        }
        for no in ["", "br", "gzip;q=0", "gzip;Q=0", "gzip; q=0.", "gzip;q=0.000", "identity", "*;q=0"] {
            assert!(!accepts(no), "{no}");
        }
    }
}
