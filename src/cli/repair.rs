use super::common::GlobalOpts;
use anyhow::Result;
use backstock::{
    repair_index, repair_snapshots, RepairIndexOptions, RepairSnapshotsOptions,
    RepairSnapshotsReport, REPAIRED_TAG,
};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Rebuild the index from pack headers
    Index(IndexArgs),
    /// Remove snapshot files that cannot be decoded and rewrite snapshots that reference lost data
    Snapshots(SnapshotsArgs),
}

#[derive(clap::Args, Debug)]
pub struct IndexArgs {
    /// Read every pack header, even for packs the current index lists
    #[arg(long)]
    pub read_all_packs: bool,
}

#[derive(clap::Args, Debug)]
pub struct SnapshotsArgs {
    /// Remove the damaged originals once their rewritten versions are saved (and snapshots whose
    /// root tree is lost)
    #[arg(long)]
    pub forget: bool,
    /// Only report what would be done
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

pub fn run(g: &GlobalOpts, c: Command) -> Result<i32> {
    match c {
        Command::Index(a) => index(g, a),
        Command::Snapshots(a) => snapshots(g, a),
    }
}

fn index(g: &GlobalOpts, a: IndexArgs) -> Result<i32> {
    let mut repo = g.open()?;
    let opts = RepairIndexOptions {
        read_all_packs: a.read_all_packs,
        ..Default::default()
    };
    let r = repair_index(&mut repo, &opts)?;
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

fn snapshots(g: &GlobalOpts, a: SnapshotsArgs) -> Result<i32> {
    let mut repo = g.open()?;
    let opts = RepairSnapshotsOptions {
        forget: a.forget,
        dry_run: a.dry_run,
    };
    let r = repair_snapshots(&mut repo, &opts)?;
    if g.json {
        outln!("{}", serde_json::to_string(&r)?)?;
    } else if !g.quiet {
        print_report(&r, a.forget)?;
    }
    for f in &r.unreadable_files {
        eprintln!(
            "error: snapshots/{} could not be read and was left alone: {}",
            f.name, f.reason
        );
    }
    Ok(if r.unreadable_files.is_empty() { 0 } else { 1 })
}

fn print_report(r: &RepairSnapshotsReport, forget: bool) -> Result<()> {
    let (would, removed) = if r.dry_run {
        ("would be ", "would be removed")
    } else {
        ("", "removed")
    };
    for f in &r.foreign_files {
        outln!(
            "snapshots/{}: left alone: {} (not a file backstock writes; move it out of the repository)",
            f.name,
            f.reason
        )?;
    }
    for f in &r.removed_files {
        outln!(
            "snapshots/{}: {removed}: {} (it holds nothing that can be restored)",
            f.name,
            f.reason
        )?;
    }
    for d in &r.damaged {
        if d.nothing_left {
            outln!("snapshot {}: nothing in it can be restored", d.id.short())?;
        } else {
            match d.new_id {
                Some(new) => outln!(
                    "snapshot {}: rewritten as {} (tag {REPAIRED_TAG:?})",
                    d.id.short(),
                    new.short()
                )?,
                None => outln!("snapshot {}: {would}rewritten", d.id.short())?,
            }
        }
        for p in &d.problems {
            outln!("  {p}")?;
        }
        if d.original_removed {
            outln!("  the original was removed")?;
        } else if forget && r.dry_run {
            outln!("  the original would be removed")?;
        } else {
            outln!("  the original is kept (remove it with --forget so that prune can run)")?;
        }
    }
    outln!(
        "{} snapshots: {} intact, {} damaged; {} unusable snapshot files {removed}",
        r.snapshots,
        r.intact,
        r.damaged.len(),
        r.removed_files.len()
    )?;
    if r.missing_packs > 0 {
        outln!(
            "{} packs the index lists are missing from the repository (or damaged): run `backstock repair index` to drop them from the index",
            r.missing_packs
        )?;
    }
    if r.unindexed_packs > 0 && !r.damaged.is_empty() {
        outln!(
            "{} packs are not in the index: `backstock repair index` may find lost blobs in them (run it, then this again)",
            r.unindexed_packs
        )?;
    }
    if r.dry_run {
        outln!("dry run: nothing was changed")?;
    }
    Ok(())
}
