use super::common::GlobalOpts;
use anyhow::{bail, Result};

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_g: &GlobalOpts, _a: Args) -> Result<i32> {
    bail!("`stats` is not implemented yet")
}
