use super::common::GlobalOpts;
use anyhow::Result;
use backstock::maintenance::repair::{self, RepairIndexOptions};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Rebuild the index from pack headers
    Index(IndexArgs),
}

#[derive(clap::Args, Debug)]
pub struct IndexArgs {
    /// Read every pack header, even for packs the current index lists
    #[arg(long)]
    pub read_all_packs: bool,
}

pub fn run(g: &GlobalOpts, c: Command) -> Result<i32> {
    let Command::Index(a) = c;
    index(g, a)
}

fn index(g: &GlobalOpts, a: IndexArgs) -> Result<i32> {
    let mut repo = g.open(false)?;
    let opts = RepairIndexOptions {
        read_all_packs: a.read_all_packs,
        ..Default::default()
    };
    let r = repair::repair_index(&mut repo, &opts)?;
    if g.json {
        outln!("{}", serde_json::to_string(&r)?)?;
    } else if !g.quiet {
        outln!(
            "indexed {} blobs in {} packs ({} headers read, {} reused); wrote {} index files, removed {}",
            r.blobs,
            r.packs - r.unreadable.len(),
            r.packs_read,
            r.packs_reused,
            r.index_files_written,
            r.index_files_removed
        )?;
    }
    for (pack, err) in &r.unreadable {
        eprintln!("error: pack {pack} could not be read and is not indexed: {err}");
    }
    Ok(if r.unreadable.is_empty() { 0 } else { 1 })
}
