//! The pfn single-page app. A placeholder until the SPA issue: it already builds for
//! `wasm32-unknown-unknown` and uses the `shared` wire types and rules the real app will use.

fn main() {
    // Prove the shared crate links for wasm: the SPA applies the same returnTo rule.
    let _ = shared::redirect::safe_return_to("/");
}
