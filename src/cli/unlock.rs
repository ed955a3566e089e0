use super::common::GlobalOpts;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Remove all locks, not only stale ones
    #[arg(long)]
    pub remove_all: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let repo = g.open()?;
    let removed = repo.unlock(a.remove_all)?;
    if g.json {
        outln!("{}", serde_json::json!({ "removed": removed }))?;
    } else if !g.quiet {
        outln!("removed {} lock(s)", removed.len())?;
    }
    Ok(0)
}
