use super::common::{report_pending, GlobalOpts, ThawArgs};
use super::snapshots::FilterArgs;
use anyhow::{Context, Result};
use backstock::format::tree::NodeKind;
use backstock::repository::snapshots::SnapshotFilter;
use backstock::ArchiveFormat;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshot: latest, an ID or an ID prefix
    pub snapshot: String,
    /// Path inside the snapshot: a file is written as it is, a directory as an archive of
    /// everything below it ("/" for the whole snapshot)
    pub path: String,
    /// Archive format for a directory
    #[arg(long, value_enum, default_value = "tar")]
    pub archive: ArchiveArg,
    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub thaw: ThawArgs,
}

/// `--archive` values, restic's names.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ArchiveArg {
    Tar,
    Zip,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, _lock) = g.open_for_reading()?;
    let (id, snap) = repo.find_snapshot(&a.snapshot, &SnapshotFilter::from(a.filter))?;
    let path = a.path.trim_start_matches('/');
    let node = repo
        .find_node(&snap.tree, path)?
        .with_context(|| format!("{path:?} does not exist in snapshot {}", id.short()))?;
    // Archived packs are found (and their restore requested) before anything is written out.
    let blobs: Vec<_> = match node.kind {
        NodeKind::Dir => repo.referenced_blobs(&node.content)?.into_iter().collect(),
        _ => node.content.clone(),
    };
    let packs = backstock::repository::archive::packs_of(&repo, &blobs);
    if let Err(e) = backstock::repository::archive::make_readable(&repo, &packs, &a.thaw.options())
    {
        let e =
            anyhow::Error::from(e).context(format!("dumping {path} from snapshot {}", id.short()));
        report_pending(g, &e);
        return Err(e);
    }
    let format = match a.archive {
        ArchiveArg::Tar => ArchiveFormat::Tar,
        ArchiveArg::Zip => ArchiveFormat::Zip,
    };
    let mut out: Box<dyn Write> = match &a.target {
        Some(f) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(f).with_context(|| format!("creating {}", f.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let written = backstock::dump(&repo, &node, path, format, &mut out).and_then(|s| {
        out.flush()?;
        Ok(s)
    });
    // A reader that stopped early (`| head`) is not a failure: main tells a closed pipe apart.
    let summary =
        written.with_context(|| format!("dumping {path:?} from snapshot {}", id.short()))?;
    for (p, what) in &summary.left_out {
        eprintln!("warning: {p}: a {what} cannot be written to this archive; left out");
    }
    Ok(0)
}
