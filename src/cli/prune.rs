use super::common::{human, parse_size, GlobalOpts};
use anyhow::{bail, Context, Result};
use backstock::{prune, PruneOptions, PruneReport};

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Unused space to tolerate, as a percentage of used data (e.g. 5 or 5%)
    #[arg(long, default_value = "5")]
    pub max_unused: String,
    /// Repack at most this much (e.g. 500M, 2G)
    #[arg(long)]
    pub max_repack: Option<String>,
    /// Only report what would be done
    #[arg(long)]
    pub dry_run: bool,
    /// Repack partly used packs in a cold storage class (e.g. S3 STANDARD_IA, GLACIER_IR, or a
    /// restored GLACIER pack) too; archived packs that are not restored are never read
    #[arg(long)]
    pub repack_cold: bool,
    /// Delete (or repack) packs in a cold storage class before their minimum storage time
    /// (STANDARD_IA 30 days, GLACIER_IR and GLACIER 90, DEEP_ARCHIVE 180) is over
    #[arg(long)]
    pub delete_cold_early: bool,
    /// The minimum age of packs in any cold storage class before they are deleted or repacked,
    /// instead of each class's own (e.g. 30d, 0s)
    #[arg(long, value_parser = super::common::parse_duration)]
    pub cold_min_age: Option<std::time::Duration>,
    /// In a repository with object lock: do not extend the retention of the files the
    /// snapshots use (by default prune extends it to the lock's days from now once less than
    /// half is left)
    #[arg(long)]
    pub no_extend_retention: bool,
}

fn parse_percent(s: &str) -> Result<f64> {
    let v: f64 =
        s.trim().trim_end_matches('%').parse().with_context(|| {
            format!("--max-unused {s:?}: expected a percentage such as 5 or 5%")
        })?;
    if !(0.0..=100.0).contains(&v) {
        bail!("--max-unused {s:?}: must be between 0 and 100");
    }
    Ok(v)
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let opts = PruneOptions {
        max_unused_percent: parse_percent(&a.max_unused)?,
        max_repack: a
            .max_repack
            .as_deref()
            .map(|s| parse_size(s).context("invalid --max-repack"))
            .transpose()?,
        dry_run: a.dry_run,
        repack_cold: a.repack_cold,
        delete_cold_early: a.delete_cold_early,
        cold_min_age: a.cold_min_age,
        extend_retention: !a.no_extend_retention,
        ..Default::default()
    };
    let mut repo = g.open()?;
    let start = std::time::Instant::now();
    // With `dry_run` the library plans only (under the same exclusive lock, as restic does).
    let r = prune(&mut repo, &opts)?;
    print_report(g, &r, start.elapsed().as_secs_f64())?;
    Ok(0)
}

/// Prints a prune report (text or JSON); `secs` is how long it took.
pub fn print_report(g: &GlobalOpts, r: &PruneReport, secs: f64) -> Result<()> {
    if g.json {
        let mut v = serde_json::to_value(r)?;
        v["duration_seconds"] = serde_json::json!(secs);
        outln!("{v}")?;
    } else if !g.quiet {
        let verb = if r.dry_run { "would" } else { "did" };
        outln!(
            "{} snapshots, {} packs ({}), {} blobs used, {} unused",
            r.snapshots,
            r.packs_before,
            human(r.bytes_before),
            r.blobs_used,
            r.blobs_unused
        )?;
        outln!(
            "unused space: {} before, {} after",
            human(r.unused_bytes_before),
            human(r.unused_bytes_after)
        )?;
        outln!(
            "{verb} delete {} packs and {} unindexed packs ({}), repack {} packs ({}) into {} new, keep {}",
            r.packs_deleted,
            r.packs_unindexed_deleted,
            human(r.bytes_deleted),
            r.packs_repacked,
            human(r.bytes_repacked),
            r.packs_written,
            r.packs_kept
        )?;
        if r.packs_archived_kept > 0 {
            outln!(
                "kept {} partly used packs in an archive storage class as they are (they cannot \
                 be read to repack)",
                r.packs_archived_kept
            )?;
        }
        if r.packs_cold_kept > 0 {
            outln!(
                "kept {} partly used packs in a cold storage class as they are (--repack-cold \
                 repacks them)",
                r.packs_cold_kept
            )?;
        }
        if r.packs_cold_young_kept > 0 {
            outln!(
                "kept {} unused packs in a cold storage class until their minimum storage time \
                 is over (--delete-cold-early deletes them now)",
                r.packs_cold_young_kept
            )?;
        }
        if r.packs_retained_kept + r.index_files_retained_kept > 0 {
            outln!(
                "kept {} packs and {} index files that are under retention (object lock) until \
                 {}; a later prune deletes or repacks them",
                r.packs_retained_kept,
                r.index_files_retained_kept,
                r.retained_until.as_deref().unwrap_or("-")
            )?;
        }
        if r.retention_extended > 0 {
            outln!(
                "extended the retention of {} files the snapshots use",
                r.retention_extended
            )?;
        }
        if r.packs_missing > 0 {
            outln!(
                "{verb} drop {} packs from the index that are missing from the repository",
                r.packs_missing
            )?;
        }
        if r.leftovers_deleted > 0 {
            outln!(
                "removed {} partial files left by interrupted writers",
                r.leftovers_deleted
            )?;
        }
        if r.dry_run {
            outln!("would replace {} index files", r.index_files_replaced)?;
        } else {
            outln!(
                "replaced {} index files in {secs:.2}s",
                r.index_files_replaced
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_percentages() {
        assert_eq!(parse_percent("5%").unwrap(), 5.0);
        assert!(parse_percent("150").is_err());
    }
}
