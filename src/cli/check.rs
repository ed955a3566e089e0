use super::common::{human, GlobalOpts};
use anyhow::Result;
use backstock::{check, ReadData};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Read all packs and verify every blob
    #[arg(long, conflicts_with = "read_data_subset")]
    pub read_data: bool,
    /// Read a subset of packs: N/M (e.g. 1/5) or a percentage (e.g. 5%)
    #[arg(long)]
    pub read_data_subset: Option<String>,
    /// Read trees through the local cache (by default check reads everything from the repository,
    /// so that a damaged pack cannot hide behind a good cached copy)
    #[arg(long)]
    pub with_cache: bool,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let read = match (&a.read_data_subset, a.read_data) {
        (Some(s), _) => ReadData::parse_subset(s)?,
        (None, true) => ReadData::All,
        (None, false) => ReadData::None,
    };
    let mut repo = if a.with_cache {
        g.open()?
    } else {
        g.open_uncached()?
    };
    let r = check(&mut repo, read)?;
    if g.json {
        outln!("{}", serde_json::to_string_pretty(&r)?)?;
    } else {
        if !g.quiet {
            for n in &r.notes {
                outln!("note: {n}")?;
            }
            outln!(
                "checked {} snapshots, {} index files, {} packs, {} tree blobs, {} data blobs; read {} packs ({})",
                r.snapshots,
                r.index_files,
                r.packs,
                r.tree_blobs,
                r.data_blobs,
                r.packs_read,
                human(r.bytes_read)
            )?;
            if r.packs_archived_skipped > 0 {
                outln!(
                    "skipped {} packs in an archive storage class that are not restored (not read)",
                    r.packs_archived_skipped
                )?;
            }
        }
        for e in &r.errors {
            eprintln!("error: {e}");
        }
        if r.errors.is_empty() && !g.quiet {
            outln!("no errors were found")?;
        }
    }
    if !r.errors.is_empty() {
        eprintln!("error: check found {} problems", r.errors.len());
        return Ok(1);
    }
    Ok(0)
}
