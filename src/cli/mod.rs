//! The command line: one file per subcommand, each parsing its arguments and calling the library.

mod backup;
mod cat;
mod common;
mod dump;
mod init;
mod ls;
mod restore;
mod snapshots;

use clap::{Parser, Subcommand};

pub use common::GlobalOpts;

#[derive(Parser, Debug)]
#[command(
    name = "backstock",
    version,
    about = "Deduplicating, encrypted, versioned backups"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new repository
    Init(init::Args),
    /// Back up files and directories
    Backup(backup::Args),
    /// List snapshots
    Snapshots(snapshots::Args),
    /// List the files of a snapshot
    Ls(ls::Args),
    /// Restore a snapshot or part of it
    Restore(restore::Args),
    /// Write one file of a snapshot to standard output
    Dump(dump::Args),
    /// Print a decoded repository object as JSON (for debugging)
    Cat(cat::Args),
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let g = &cli.global;
    match cli.command {
        Command::Init(a) => init::run(g, a),
        Command::Backup(a) => backup::run(g, a),
        Command::Snapshots(a) => snapshots::run(g, a),
        Command::Ls(a) => ls::run(g, a),
        Command::Restore(a) => restore::run(g, a),
        Command::Dump(a) => dump::run(g, a),
        Command::Cat(a) => cat::run(g, a),
    }
}
