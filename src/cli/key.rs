use super::common::GlobalOpts;
use anyhow::{bail, Result};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List key files
    List,
}

pub fn run(_g: &GlobalOpts, _c: Command) -> Result<i32> {
    bail!("`key` is not implemented yet")
}
