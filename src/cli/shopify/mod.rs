//! `backstock shopify ...`: the store connector's commands, one file each.

mod backup;
mod diff;
mod erase;
mod export;
mod history;
mod restore;

use super::common::GlobalOpts;
use anyhow::Result;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Export a store into a folder, one file per item (token from SHOPIFY_ACCESS_TOKEN)
    Export(export::Args),
    /// Export a store, then back up the export with the shop as the snapshot's host
    Backup(backup::Args),
    /// What changed between two snapshots of a store, item by item and field by field
    Diff(diff::Args),
    /// Every version of one item across the snapshots, with what changed each time
    History(history::Args),
    /// Put items of a snapshot back into the store (products, collections, pages, articles,
    /// redirects, menus, metaobjects, theme files)
    Restore(restore::Args),
    /// Remove one customer's folder (all their personal data) from every snapshot, then prune
    EraseCustomer(erase::Args),
}

pub fn run(g: &GlobalOpts, c: Command) -> Result<i32> {
    match c {
        Command::Export(a) => export::run(g, a),
        Command::Backup(a) => backup::run(g, a),
        Command::Diff(a) => diff::run(g, a),
        Command::History(a) => history::run(g, a),
        Command::Restore(a) => restore::run(g, a),
        Command::EraseCustomer(a) => erase::run(g, a),
    }
}
