use super::common::GlobalOpts;
use anyhow::{bail, Result};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Rebuild the index from pack headers
    Index(IndexArgs),
}

#[derive(clap::Args, Debug)]
pub struct IndexArgs {}

pub fn run(_g: &GlobalOpts, _c: Command) -> Result<i32> {
    bail!("`repair index` is not implemented yet")
}
