use super::common::{report_pending, GlobalOpts, ThawArgs};
use anyhow::{bail, Context, Result};
use backstock::format::tree::NodeKind;
use backstock::repository::snapshots::SnapshotFilter;
use std::io::Write;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshot: latest, an ID or an ID prefix
    pub snapshot: String,
    /// Path of the file inside the snapshot
    pub file: String,
    #[command(flatten)]
    pub thaw: ThawArgs,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, _lock) = g.open_for_reading()?;
    let (id, snap) = repo.find_snapshot(&a.snapshot, &SnapshotFilter::default())?;
    let path = a.file.trim_start_matches('/');
    let node = repo
        .find_node(&snap.tree, path)?
        .with_context(|| format!("{path:?} does not exist in snapshot {}", id.short()))?;
    if node.kind != NodeKind::File {
        bail!("{path:?} in snapshot {} is not a file", id.short());
    }
    // Archived packs are found (and their restore requested) before anything is written out.
    let packs = backstock::repository::archive::packs_of(&repo, &node.content);
    if let Err(e) = backstock::repository::archive::make_readable(&repo, &packs, &a.thaw.options())
    {
        let e =
            anyhow::Error::from(e).context(format!("dumping {path} from snapshot {}", id.short()));
        report_pending(g, &e);
        return Err(e);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for blob in &node.content {
        let data = repo
            .read_blob(blob)
            .with_context(|| format!("reading {path} from snapshot {}", id.short()))?;
        if let Err(e) = out.write_all(&data) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(0);
            }
            return Err(e).context("writing to standard output");
        }
    }
    out.flush().ok();
    Ok(0)
}
