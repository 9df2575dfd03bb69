//! The command line describing itself: shell completions (`clap_complete`)
//! and manual pages (`clap_mangen`), both made from the clap grammar, so
//! they never drift from it.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "liveops", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
    Ok(())
}

/// Writes a page per command into `dir` (`liveops.1`,
/// `liveops-support.1`, …), or prints `liveops(1)` without one.
pub fn pages(dir: Option<&Path>) -> anyhow::Result<()> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot make {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), dir)
                .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
            let written = std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .filter(|e| e.path().extension().is_some_and(|x| x == "1"))
                        .count()
                })
                .unwrap_or(0);
            println!("{written} manual pages in {}", dir.display());
        }
        None => {
            let mut page = Vec::new();
            // As `generate_to` makes it: `help` has no page to point at.
            clap_mangen::Man::new(Cli::command().disable_help_subcommand(true))
                .render(&mut page)
                .context("cannot render the manual page")?;
            print!("{}", String::from_utf8_lossy(&page));
        }
    }
    Ok(())
}
