//! The dashboard's files, embedded in the binary (`assets/`): our own HTML, JS, CSS
//! and SVG, no framework, no CDN, no copied third-party code. A compile-time check
//! keeps their total under 100 KB ([`TOTAL_BYTES`]).

use axum::http::header;
use axum::response::IntoResponse;

const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const OUTPUTS_SCRIPT: &str = include_str!("../assets/outputs.js");
const STYLE: &str = include_str!("../assets/app.css");
const FAVICON: &str = include_str!("../assets/favicon.svg");

/// The size of everything served from here.
pub const TOTAL_BYTES: usize =
    INDEX.len() + SCRIPT.len() + OUTPUTS_SCRIPT.len() + STYLE.len() + FAVICON.len();

// The budget is checked when the crate compiles: the build fails past 100 KB.
const _: () = assert!(TOTAL_BYTES < 100 * 1024, "dashboard assets over 100 KB");

pub(crate) async fn index() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX)
}

pub(crate) async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

pub(crate) async fn outputs_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        OUTPUTS_SCRIPT,
    )
}

pub(crate) async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

pub(crate) async fn favicon() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON)
}
