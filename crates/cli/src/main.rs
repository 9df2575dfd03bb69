//! The `liveops` binary: a thin shell over the library.

use std::process::ExitCode;

/// mimalloc rather than glibc's allocator: ingest allocates and frees across
/// threads constantly, where glibc's arenas spend much time in locks and
/// consolidation (see BENCHMARKS.md). Built without transparent huge pages
/// (the workspace's `no_thp` feature), which made partly used memory count
/// whole in 2 MiB pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match liveops::run(std::env::args_os()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast::<liveops::Exit>() {
            Ok(exit) => {
                if let Some(e) = exit.error {
                    eprintln!("error: {e:#}");
                }
                ExitCode::from(exit.code)
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
