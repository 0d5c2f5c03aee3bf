//! The floor pfn's request path is measured against: one axum 0.8 route answering
//! `GET /healthz` with `{"status":"ok"}` as pfn's does, on tokio's multi-thread runtime with
//! mimalloc, and no middleware at all. `bench/auth.sh` and `bench/instructions.py` report
//! pfn's routes as ratios to it (docs/benchmarks.md, "The request path").
//!
//! Usage: `pfn-baseline [ADDRESS]` (default `PFN_LISTEN`, else `127.0.0.1:0`); prints
//! `listening on http://ADDRESS` once it accepts connections.

use axum::{routing::get, Json, Router};
use serde::Serialize;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PFN_LISTEN").ok())
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, Router::new().route("/healthz", get(healthz))).await
}
