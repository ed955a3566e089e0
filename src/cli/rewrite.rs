use super::common::GlobalOpts;
use super::snapshots::FilterArgs;
use anyhow::Result;
use backstock::repository::snapshots::SnapshotFilter;
use backstock::{rewrite, RewriteOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshots to rewrite (IDs, prefixes or `latest`; default: all the filters select)
    pub snapshots: Vec<String>,
    /// Remove paths matching this pattern, with everything below them (repeatable; restic's
    /// meaning, matched against the path in the snapshot)
    #[arg(long = "exclude", value_name = "PATTERN")]
    pub excludes: Vec<String>,
    /// --exclude, ignoring case (repeatable)
    #[arg(long = "iexclude", value_name = "PATTERN")]
    pub iexcludes: Vec<String>,
    /// Read --exclude patterns from FILE, one per line (repeatable)
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<std::path::PathBuf>,
    /// Delete each original once its rewrite is saved (run `prune` to free the space)
    #[arg(long)]
    pub forget: bool,
    /// Show what would be removed; change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let mut repo = g.open()?;
    let mut excludes = a.excludes;
    for f in &a.exclude_file {
        excludes.extend(super::lists::patterns_from(f)?);
    }
    let opts = RewriteOptions {
        excludes,
        iexcludes: a.iexcludes,
        forget: a.forget,
        dry_run: a.dry_run,
    };
    let done = rewrite(
        &mut repo,
        &a.snapshots,
        &SnapshotFilter::from(a.filter),
        &opts,
    )?;
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"rewritten": done, "dry_run": a.dry_run})
        )?;
        return Ok(0);
    }
    if !g.quiet {
        for r in &done {
            match r.new {
                Some(new) => outln!(
                    "snapshot {}: {} paths removed, saved as {}{}",
                    r.old.short(),
                    r.removed.len(),
                    new.short(),
                    if r.original_removed {
                        ", original forgotten"
                    } else {
                        ""
                    }
                )?,
                None => outln!(
                    "snapshot {}: would remove {} paths",
                    r.old.short(),
                    r.removed.len()
                )?,
            }
            if g.verbose > 0 {
                for p in &r.removed {
                    outln!("  removed {p}")?;
                }
            }
        }
        let verb = if a.dry_run {
            "would be rewritten"
        } else {
            "rewritten"
        };
        outln!("{} snapshots {verb}", done.len())?;
    }
    Ok(0)
}
