//! pfn's app with only the innermost `PFN_BENCH_LAYERS` layers of its request path (0: the
//! router alone; all: as `http::app` stacks them), for `bench/layers.py`, which counts each
//! variant's instructions per request under callgrind: a layer's cost is what it adds to the
//! variant below it. A benchmark tool, never a server to run: with fewer layers there are no
//! security headers, no CSRF check, no sessions and no request ids.
//!
//! The request path is one layer now (`http::edge::EdgeLayer`); `bench/layers.py` splits it
//! further by its functions. Until 2026-12-05 it was thirteen (docs/benchmarks.md, "The
//! request path", has both).
//!
//! Usage: `PFN_BENCH_LAYERS=N layer_stack` with pfn's settings in the environment;
//! `layer_stack --list` prints the layers, innermost first.

use backend::{clock::Clock, config::Config, http::edge::EdgeLayer};
use tower::Layer;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The layers, innermost first, as `http::app` stacks them.
const LAYERS: [&str; 1] = ["Edge"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--list") {
        println!("{}", LAYERS.join("\n"));
        return Ok(());
    }
    let n: usize = std::env::var("PFN_BENCH_LAYERS")?.parse()?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let config = Config::from_env().map_err(|e| anyhow::anyhow!(e.join("; ")))?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let port = listener.local_addr()?.port();
    let state = backend::build(config, port, Clock::default()).await?;

    // As in `http::app`, less the documentation routes and the fallbacks.
    let (api, doc) = backend::openapi::api_routes().split_for_parts();
    let spec = backend::openapi::json();
    let mcp = backend::mcp::service(&state, api.clone().with_state(state.clone()), &spec);
    let routes: Vec<String> = doc.paths.paths.into_keys().collect();
    let app = api.with_state(state.clone());
    println!("layer_stack: {n} layers at http://127.0.0.1:{port}");
    let shutdown = backend::shutdown_signal();
    if n >= 1 {
        let edge = EdgeLayer::new(state.clone(), mcp, routes.iter().map(String::as_str));
        backend::serve_app(listener, state, edge.layer(app), shutdown).await
    } else {
        backend::serve_app(listener, state, app, shutdown).await
    }
}
