use super::common::GlobalOpts;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print a shell completion script (bash: `backstock generate completions bash >
    /// /etc/bash_completion.d/backstock`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages, one per command, into DIR
    Man {
        /// Directory to write backstock.1, backstock-backup.1, ... into (made if missing)
        dir: PathBuf,
    },
}

pub fn run(_g: &GlobalOpts, c: Command) -> Result<i32> {
    let mut cmd = super::Cli::command();
    match c {
        Command::Completions { shell } => {
            // Into memory first: the generator panics on a failed write (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "backstock", &mut script);
            std::io::stdout()
                .write_all(&script)
                .context("writing to standard output")?;
        }
        Command::Man { dir } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            outln!("man pages written to {}", dir.display())?;
        }
    }
    Ok(0)
}
