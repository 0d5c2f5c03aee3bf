//! The pfn single-page app's entry point: mounts the app in the browser.

#[cfg(target_arch = "wasm32")]
fn main() {
    frontend::start();
}

// Natively there is nothing to run: `cargo test` only exercises `frontend::logic`.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
