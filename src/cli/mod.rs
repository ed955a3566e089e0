//! The command line: one file per subcommand, each parsing its arguments and calling the library.

/// `println!` that returns the write error instead of panicking (a closed pipe, a full disk).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod backup;
mod bench;
mod cache;
mod cat;
mod check;
mod common;
mod copy;
mod diff;
mod dump;
pub mod exit;
mod find;
mod forget;
mod from_repo;
mod generate;
mod init;
mod key;
mod lists;
pub mod log;
mod ls;
pub mod mount;
mod profile;
mod prune;
mod repair;
mod restore;
mod rewrite;
mod shopify;
mod snapshots;
mod stats;
mod tag;
mod unlock;
mod version;

use clap::{Parser, Subcommand};

pub use common::{take_password_from_environment, GlobalOpts};

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
    /// Write a file of a snapshot, or a directory as a tar or zip archive, to standard output
    Dump(dump::Args),
    /// Print a decoded repository object as JSON (for debugging)
    Cat(cat::Args),
    /// Show what changed between two snapshots
    Diff(diff::Args),
    /// Find which snapshots hold files matching a pattern
    Find(find::Args),
    /// Show sizes, blob counts and deduplication
    Stats(stats::Args),
    /// Copy snapshots from another repository (--from-repo) into this one
    Copy(copy::Args),
    /// Remove snapshots by policy or ID
    Forget(forget::Args),
    /// Add, remove or set the tags of snapshots
    Tag(tag::Args),
    /// Write new snapshots without the paths matching --exclude (trees only; --forget the originals)
    Rewrite(rewrite::Args),
    /// Remove unused data and repack partly used packs
    Prune(prune::Args),
    /// Verify the repository
    Check(check::Args),
    /// Repair repository structures
    #[command(subcommand)]
    Repair(repair::Command),
    /// Manage passwords (key files)
    #[command(subcommand)]
    Key(key::Command),
    /// Remove stale locks
    Unlock(unlock::Args),
    /// List local caches; --cleanup removes those of repositories not used for a while
    Cache(cache::Args),
    /// Browse the snapshots as a read-only file system (FUSE) until unmounted
    Mount(mount::Args),
    /// Back up a Shopify store item by item (export, backup)
    #[command(subcommand)]
    Shopify(shopify::Command),
    /// Replay simulated days of a synthetic store export into a fresh repository and time each step
    Bench(bench::Args),
    /// Shell completions and man pages
    #[command(subcommand)]
    Generate(generate::Command),
    /// Print the version
    Version(version::Args),
}

/// Runs a parsed command line; returns the exit code.
pub fn run(mut cli: Cli) -> anyhow::Result<i32> {
    let profile = match &cli.global.profile {
        Some(name) => {
            let path = profile::path_of(name)?;
            let p = profile::load(&path)?;
            p.apply_global(&mut cli.global);
            Some((p, path))
        }
        None => None,
    };
    let g = &cli.global;
    match cli.command {
        Command::Init(a) => init::run(g, a),
        Command::Backup(mut a) => {
            let Some((p, path)) = &profile else {
                return backup::run(g, a);
            };
            p.apply_backup(&mut a)?;
            let dry_run = a.dry_run;
            let code = backup::run(g, a)?;
            // A snapshot was saved (whole or partial): the profile's retention follows.
            let saved = code == exit::OK || code == exit::PARTIAL_BACKUP;
            if p.backup.forget && saved && !dry_run {
                let forgot = forget::run(g, p.forget.forget_args(path)?)?;
                return Ok(code.max(forgot));
            }
            Ok(code)
        }
        Command::Forget(mut a) => {
            if let Some((p, path)) = &profile {
                p.apply_forget(&mut a, path)?;
            }
            forget::run(g, a)
        }
        Command::Snapshots(a) => snapshots::run(g, a),
        Command::Ls(a) => ls::run(g, a),
        Command::Restore(a) => restore::run(g, a),
        Command::Dump(a) => dump::run(g, a),
        Command::Cat(a) => cat::run(g, a),
        Command::Diff(a) => diff::run(g, a),
        Command::Find(a) => find::run(g, a),
        Command::Stats(a) => stats::run(g, a),
        Command::Copy(a) => copy::run(g, a),
        Command::Tag(a) => tag::run(g, a),
        Command::Rewrite(a) => rewrite::run(g, a),
        Command::Prune(a) => prune::run(g, a),
        Command::Check(a) => check::run(g, a),
        Command::Repair(c) => repair::run(g, c),
        Command::Key(c) => key::run(g, c),
        Command::Unlock(a) => unlock::run(g, a),
        Command::Cache(a) => cache::run(g, a),
        Command::Mount(a) => mount::run(g, a),
        Command::Shopify(c) => shopify::run(g, c),
        Command::Bench(a) => bench::run(g, a),
        Command::Generate(c) => generate::run(g, c),
        Command::Version(a) => version::run(g, a),
    }
}

#[cfg(test)]
mod tests {
    /// clap's own checks of every command's definition (unique names and groups, valid
    /// defaults), which otherwise run only when a command is parsed in a debug build.
    #[test]
    fn the_command_line_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
