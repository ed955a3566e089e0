use super::common::{human, with_progress, GlobalOpts};
use super::exit;
use anyhow::{bail, Context, Result};
use backstock::{backup, stdin_node_name, BackupOptions, Progress};
use chrono::{Local, NaiveDateTime, TimeZone};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files and directories to back up
    pub paths: Vec<PathBuf>,
    /// Host name recorded in the snapshot (default: this machine's)
    #[arg(long)]
    pub host: Option<String>,
    /// Tag for the snapshot (repeatable)
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Skip paths matching this glob (repeatable); without '/' it matches names
    #[arg(long = "exclude")]
    pub excludes: Vec<String>,
    /// Snapshot time instead of now, "YYYY-MM-DD HH:MM:SS" local time
    #[arg(long)]
    pub time: Option<String>,
    /// Back up standard input
    #[arg(long)]
    pub stdin: bool,
    /// File name for --stdin
    #[arg(long, default_value = "stdin")]
    pub stdin_filename: String,
    /// Parent snapshot for change detection (default: latest with the same host and paths)
    #[arg(long)]
    pub parent: Option<String>,
    /// Read all files, ignoring the parent snapshot
    #[arg(long)]
    pub force: bool,
}

pub fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::FixedOffset>> {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .with_context(|| format!("--time {s:?}: expected \"YYYY-MM-DD HH:MM:SS\""))?;
    let local = Local
        .from_local_datetime(&naive)
        .earliest()
        .with_context(|| format!("--time {s:?} does not exist in the local time zone"))?;
    Ok(local.fixed_offset())
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    if a.stdin && !a.paths.is_empty() {
        bail!("--stdin cannot be combined with paths");
    }
    if !a.stdin && a.paths.is_empty() {
        bail!("nothing to back up: give at least one path (or --stdin)");
    }
    if a.stdin {
        stdin_node_name(&a.stdin_filename)?;
    }
    let time = a.time.as_deref().map(parse_time).transpose()?;
    let opts = BackupOptions {
        paths: a.paths,
        host: a.host,
        tags: a.tags,
        excludes: a.excludes,
        time,
        stdin_name: a.stdin.then_some(a.stdin_filename),
        parent: a.parent,
        force: a.force,
    };
    let mut repo = g.open()?;
    let progress = Progress::default();
    let start = Instant::now();
    let result = with_progress(
        g.progress(),
        || {
            format!(
                "{} files, {} processed",
                progress.files.load(Ordering::Relaxed),
                human(progress.bytes.load(Ordering::Relaxed))
            )
        },
        || backup(&mut repo, &opts, &progress),
    )?;
    let secs = start.elapsed().as_secs_f64();
    for (path, err) in &result.failures {
        eprintln!("error: could not read {path}: {err}");
    }
    for path in &result.changed {
        eprintln!("warning: file changed while it was read: {path}");
    }
    if g.verbose > 0 {
        for (path, what) in &result.skipped {
            eprintln!("skipped {what} (not backed up): {path}");
        }
    }
    let s = &result.snapshot.summary;
    // Remote stores only (a local repository counts nothing).
    let ops = backstock::backend::storage_operations();
    if g.json {
        outln!(
            "{}",
            serde_json::json!({
                "snapshot_id": result.id,
                "short_id": result.id.short(),
                "parent": result.parent,
                "summary": s,
                "duration_seconds": secs,
                "failures": result.failures.iter().map(|(p, e)| serde_json::json!({"path": p, "error": e})).collect::<Vec<_>>(),
                "files_changed_while_read": result.changed.len(),
                "changed_while_read": result.changed,
                "skipped": result.skipped.iter().map(|(p, w)| serde_json::json!({"path": p, "type": w})).collect::<Vec<_>>(),
                "storage_operations": ops,
            })
        )?;
    } else if !g.quiet {
        if let Some(p) = result.parent {
            outln!("using parent snapshot {}", p.short())?;
        }
        outln!(
            "Files:       {} new, {} changed, {} unchanged",
            s.files_new,
            s.files_changed,
            s.files_unchanged
        )?;
        outln!(
            "Dirs:        {} new, {} changed, {} unchanged",
            s.dirs_new,
            s.dirs_changed,
            s.dirs_unchanged
        )?;
        outln!(
            "Added:       {} ({} stored, {} blobs)",
            human(s.bytes_added),
            human(s.bytes_added_stored),
            s.blobs_added
        )?;
        outln!(
            "Processed:   {} files, {} ({} read) in {secs:.2}s",
            s.files_new + s.files_changed + s.files_unchanged,
            human(s.bytes_processed),
            human(s.bytes_read)
        )?;
        if !result.changed.is_empty() {
            outln!(
                "Changed:     {} files changed while they were read (stored as read)",
                result.changed.len()
            )?;
        }
        if !result.skipped.is_empty() {
            outln!(
                "Skipped:     {} files of an unknown type (not backed up; named with -v)",
                result.skipped.len()
            )?;
        }
        if g.verbose > 0 && ops.total() > 0 {
            outln!(
                "Storage:     {} operations ({} lists, {} reads, {} pack reads, {} writes, {} deletes, {} stats)",
                ops.total(),
                ops.lists,
                ops.reads,
                ops.pack_reads,
                ops.writes,
                ops.deletes,
                ops.stats
            )?;
        }
        outln!("snapshot {} saved", result.id.short())?;
    }
    if !result.failures.is_empty() {
        eprintln!(
            "warning: {} files or directories could not be read; the snapshot is incomplete",
            result.failures.len()
        );
        return Ok(exit::PARTIAL_BACKUP);
    }
    Ok(exit::OK)
}
