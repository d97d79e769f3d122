//! The `gridcircle` binary: logging, the global allocator and the command line
//! ([`gridcircle::cli`]).

use clap::Parser;

/// mimalloc instead of glibc's malloc: under HTTP load a fifth of the server's CPU was in
/// `malloc`/`free` (perf, `/nearest` under wrk; see docs/PERFORMANCE.md, W6), most of it
/// glibc's arena locking and consolidation across the runtime's worker threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    gridcircle::cli::run(gridcircle::cli::Cli::parse()).await
}
