//! The `pfn` binary: bootstrap only; the application lives in the library.

use clap::Parser;

/// mimalloc rather than glibc's malloc: under callgrind, glibc's allocator was over a third
/// of the instructions of a small request (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal; a broken one is not.
    if let Err(e) = dotenvy::dotenv() {
        if !e.not_found() {
            eprintln!("pfn: cannot read .env: {e}");
            std::process::exit(2);
        }
    }
    backend::cli::run(backend::cli::Cli::parse()).await
}
