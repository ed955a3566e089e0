use super::common::{human, split_spec, with_progress, GlobalOpts};
use anyhow::Result;
use backstock::repository::lock::LockKind;
use backstock::repository::snapshots::SnapshotFilter;
use backstock::restorer::{self, RestoreOptions, RestoreProgress};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// SNAPSHOT[:SUBPATH]
    pub snapshot: String,
    /// Directory to restore into
    #[arg(short, long)]
    pub target: PathBuf,
    /// Restore only paths matching this glob (repeatable)
    #[arg(long = "include")]
    pub includes: Vec<String>,
    /// Skip paths matching this glob (repeatable)
    #[arg(long = "exclude")]
    pub excludes: Vec<String>,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, lock) = g.open_locked(LockKind::Read)?;
    let (spec, sub) = split_spec(&a.snapshot);
    let (id, snap) = repo.find_snapshot(spec, &SnapshotFilter::default())?;
    let opts = RestoreOptions {
        target: a.target,
        includes: a.includes,
        excludes: a.excludes,
    };
    let progress = RestoreProgress::default();
    let start = Instant::now();
    let summary = with_progress(
        g.progress(),
        || {
            format!(
                "{} of {} restored",
                human(progress.bytes.load(Ordering::Relaxed)),
                human(progress.total_bytes.load(Ordering::Relaxed))
            )
        },
        || restorer::restore(&repo, &lock, &snap.tree, sub, &opts, &progress),
    )
    .map_err(|e| e.context(format!("restoring snapshot {}", id.short())))?;
    let secs = start.elapsed().as_secs_f64();
    for e in &summary.errors {
        eprintln!("error: {e}");
    }
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"snapshot_id": id, "files": summary.files, "dirs": summary.dirs,
                "symlinks": summary.symlinks, "bytes": summary.bytes, "errors": summary.errors,
                "duration_seconds": secs})
        )?;
    } else if !g.quiet {
        outln!(
            "restored {} files, {} dirs, {} symlinks, {} from snapshot {} to {} in {secs:.2}s",
            summary.files,
            summary.dirs,
            summary.symlinks,
            human(summary.bytes),
            id.short(),
            opts.target.display()
        )?;
    }
    if !summary.errors.is_empty() {
        eprintln!(
            "error: restore finished with {} problems",
            summary.errors.len()
        );
        return Ok(1);
    }
    Ok(0)
}
