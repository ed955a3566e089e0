//! `backstock shopify ...`: the store connector's commands, one file each.

mod backup;
mod export;

use super::common::GlobalOpts;
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Export a store into a folder, one file per item (token from SHOPIFY_ACCESS_TOKEN)
    Export(export::Args),
    /// Export a store, then back up the export with the shop as the snapshot's host
    Backup(backup::Args),
}

pub fn run(g: &GlobalOpts, c: Command) -> Result<i32> {
    match c {
        Command::Export(a) => export::run(g, a),
        Command::Backup(a) => backup::run(g, a),
    }
}
