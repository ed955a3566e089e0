use super::common::{human, report_pending, split_spec, with_progress, GlobalOpts, ThawArgs};
use super::snapshots::FilterArgs;
use anyhow::{Context, Result};
use backstock::repository::snapshots::SnapshotFilter;
use backstock::{
    restore, restore_dry_run, Overwrite, RestoreAction, RestoreDryRun, RestoreOptions,
    RestoreProgress, RestoreSummary,
};
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
    /// Restore only paths matching this pattern and what is below them (repeatable; patterns as
    /// for backup, matched against the path in the snapshot)
    #[arg(long = "include", value_name = "PATTERN")]
    pub includes: Vec<String>,
    /// --include, ignoring case (repeatable)
    #[arg(long = "iinclude", value_name = "PATTERN")]
    pub iincludes: Vec<String>,
    /// Skip paths matching this pattern (repeatable)
    #[arg(long = "exclude", value_name = "PATTERN")]
    pub excludes: Vec<String>,
    /// --exclude, ignoring case (repeatable)
    #[arg(long = "iexclude", value_name = "PATTERN")]
    pub iexcludes: Vec<String>,
    /// What to do with files already in the target: always replace them, replace them if their
    /// size or mtime differ from the snapshot's, if the snapshot's mtime is newer, or never
    #[arg(long, value_enum, default_value = "always")]
    pub overwrite: OverwriteArg,
    /// Read every restored file back and compare it with the snapshot
    #[arg(long)]
    pub verify: bool,
    /// Show what the restore would do (with -v, entry by entry); change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Replace entries of another kind in the way of restored ones, and remove entries of restored
    /// directories that the snapshot does not have (within --include/--exclude)
    #[arg(long)]
    pub delete: bool,
    /// fsync every restored file and directory before exiting
    #[arg(long)]
    pub sync: bool,
    /// Restore files sparse: ranges of zeros become holes and take no disk space (restic's flag)
    #[arg(long)]
    pub sparse: bool,
    #[command(flatten)]
    pub thaw: ThawArgs,
}

/// `--overwrite` values, restic's names.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum OverwriteArg {
    Always,
    IfChanged,
    IfNewer,
    Never,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, lock) = g.open_for_reading()?;
    let (spec, sub) = split_spec(&a.snapshot);
    let (id, snap) = repo.find_snapshot(spec, &SnapshotFilter::from(a.filter))?;
    let opts = RestoreOptions {
        target: a.target,
        includes: a.includes,
        iincludes: a.iincludes,
        excludes: a.excludes,
        iexcludes: a.iexcludes,
        overwrite: match a.overwrite {
            OverwriteArg::Always => Overwrite::Always,
            OverwriteArg::IfChanged => Overwrite::IfChanged,
            OverwriteArg::IfNewer => Overwrite::IfNewer,
            OverwriteArg::Never => Overwrite::Never,
        },
        verify: a.verify,
        delete: a.delete,
        sync: a.sync,
        sparse: a.sparse,
        thaw: a.thaw.options(),
    };
    if a.dry_run {
        let plan = restore_dry_run(&repo, &lock, &snap.tree, sub, &opts)
            .with_context(|| format!("restoring snapshot {} (dry run)", id.short()))?;
        return dry_run_report(g, &plan, &id.short(), &opts);
    }
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
        || restore(&repo, &lock, &snap.tree, sub, &opts, &progress),
    )
    .map_err(|e| {
        let e = anyhow::Error::from(e).context(format!("restoring snapshot {}", id.short()));
        report_pending(g, &e);
        e
    })?;
    let secs = start.elapsed().as_secs_f64();
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    for e in &summary.errors {
        eprintln!("error: {e}");
    }
    let s = &summary;
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"snapshot_id": id, "files": s.files, "dirs": s.dirs,
                "symlinks": s.symlinks, "specials": s.specials, "hardlinks": s.hardlinks,
                "bytes": s.bytes, "files_failed": s.files_failed,
                "dirs_failed": s.dirs_failed, "symlinks_failed": s.symlinks_failed,
                "specials_failed": s.specials_failed, "specials_skipped": s.specials_skipped,
                "files_kept": s.files_kept, "verified": s.verified,
                "deleted": s.deleted, "errors": s.errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "warnings": s.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(), "duration_seconds": secs,
                // Remote stores only (a local repository counts nothing).
                "storage_operations": backstock::backend::storage_operations()})
        )?;
    } else if !g.quiet {
        let deleted = if opts.delete {
            format!(", deleted {} entries", s.deleted)
        } else {
            String::new()
        };
        let mut special = String::new();
        if s.specials + s.specials_failed > 0 {
            special = format!(
                ", {}",
                counted(s.specials, s.specials_failed, "special files")
            );
        }
        if s.specials_skipped > 0 {
            special += &format!(" ({} skipped)", s.specials_skipped);
        }
        if s.hardlinks > 0 {
            special += &format!(", {} hard links", s.hardlinks);
        }
        if s.files_kept > 0 {
            special += &format!(", {} existing files kept (--overwrite)", s.files_kept);
        }
        outln!(
            "restored {}, {}, {}{special}, {} from snapshot {} to {}{deleted} in {secs:.2}s",
            counted(s.files, s.files_failed, "files"),
            counted(s.dirs, s.dirs_failed, "dirs"),
            counted(s.symlinks, s.symlinks_failed, "symlinks"),
            human(s.bytes),
            id.short(),
            opts.target.display()
        )?;
    }
    if failed(s) {
        eprintln!(
            "error: restore finished with {} problems{}",
            s.errors.len().max(1),
            if s.files_failed + s.dirs_failed + s.symlinks_failed + s.specials_failed > 0 {
                format!(
                    "; not restored or incomplete: {} files, {} dirs, {} symlinks, {} special \
                     files",
                    s.files_failed, s.dirs_failed, s.symlinks_failed, s.specials_failed
                )
            } else {
                String::new()
            }
        );
        return Ok(1);
    }
    Ok(0)
}

/// Prints a dry run: a count per action, each entry with -v, all of it with --json.
fn dry_run_report(
    g: &GlobalOpts,
    plan: &RestoreDryRun,
    short: &str,
    opts: &RestoreOptions,
) -> Result<i32> {
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"snapshot_id": short, "dry_run": true, "bytes": plan.bytes,
                "entries": plan.entries})
        )?;
        return Ok(0);
    }
    let name = |a: RestoreAction| match a {
        RestoreAction::Create => "create",
        RestoreAction::Update => "update",
        RestoreAction::Replace => "replace",
        RestoreAction::Keep => "keep",
        RestoreAction::Conflict => "conflict",
        RestoreAction::Delete => "delete",
        RestoreAction::Skip => "skip",
    };
    if g.verbose > 0 {
        for e in &plan.entries {
            let kind = e.kind.map_or("", |k| k.describe());
            outln!("{:<8} {kind:<9} {}", name(e.action), e.path)?;
        }
    }
    if !g.quiet {
        use RestoreAction::*;
        outln!(
            "dry run of snapshot {short} to {}: {} to create, {} to update, {} to replace, {} to \
             keep, {} conflicts, {} to delete, {} skipped; {} of content to write; nothing was \
             changed",
            opts.target.display(),
            plan.count(Create),
            plan.count(Update),
            plan.count(Replace),
            plan.count(Keep),
            plan.count(Conflict),
            plan.count(Delete),
            plan.count(Skip),
            human(plan.bytes)
        )?;
    }
    Ok(0)
}

/// "7 files", or "6 files (1 failed)".
fn counted(ok: u64, failed: u64, what: &str) -> String {
    if failed == 0 {
        format!("{ok} {what}")
    } else {
        format!("{ok} {what} ({failed} failed)")
    }
}

fn failed(s: &RestoreSummary) -> bool {
    !s.errors.is_empty()
        || s.files_failed + s.dirs_failed + s.symlinks_failed + s.specials_failed > 0
}
