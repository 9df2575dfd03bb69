//! The `liveops` binary: a thin shell over the library.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match liveops::run(std::env::args_os()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
