use super::common::GlobalOpts;
use anyhow::{bail, Result};

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_g: &GlobalOpts, _a: Args) -> Result<i32> {
    bail!("`prune` is not implemented yet")
}

pub fn run_default(g: &GlobalOpts) -> Result<i32> {
    run(g, Args {})
}
