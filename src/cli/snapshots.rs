use super::common::GlobalOpts;
use anyhow::Result;
use backstock::format::snapshot::Snapshot;
use backstock::ids::SnapshotId;
use backstock::repository::snapshots::SnapshotFilter;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// `--host`, `--tag`, `--path` snapshot filters, shared by the commands that select snapshots.
#[derive(clap::Args, Debug)]
pub struct FilterArgs {
    /// Only snapshots of this host (repeatable)
    #[arg(long = "host")]
    pub hosts: Vec<String>,
    /// Only snapshots with this tag; `--tag a,b` needs both, repeated `--tag` any (as in restic)
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Only snapshots that include this path (repeatable)
    #[arg(long = "path")]
    pub paths: Vec<String>,
}

impl From<FilterArgs> for SnapshotFilter {
    fn from(f: FilterArgs) -> Self {
        SnapshotFilter {
            hosts: f.hosts,
            tags: f.tags,
            paths: f.paths,
        }
    }
}

pub fn snapshot_json(id: &SnapshotId, s: &Snapshot) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "short_id": id.short(),
        "time": s.time.to_rfc3339(),
        "hostname": s.hostname,
        "username": s.username,
        "paths": s.paths,
        "tags": s.tags,
        "tree": s.tree,
        "parent": s.parent,
        "program_version": s.program_version,
        "summary": s.summary,
        "original": s.original,
    })
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let repo = g.open()?;
    let _lock = repo.lock_for_listing()?;
    let filter = SnapshotFilter::from(a.filter);
    let snaps: Vec<_> = repo
        .snapshots()?
        .into_iter()
        .filter(|(_, s)| filter.matches(s))
        .collect();
    if g.json {
        let v: Vec<_> = snaps.iter().map(|(id, s)| snapshot_json(id, s)).collect();
        outln!("{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(0);
    }
    outln!(
        "{:<10} {:<20} {:<16} {:<16} Paths",
        "ID",
        "Time",
        "Host",
        "Tags"
    )?;
    outln!("{}", "-".repeat(80))?;
    for (id, s) in &snaps {
        outln!(
            "{:<10} {:<20} {:<16} {:<16} {}",
            id.short(),
            s.time
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S"),
            s.hostname,
            s.tags.join(","),
            s.paths.join(", ")
        )?;
    }
    outln!("{}", "-".repeat(80))?;
    outln!("{} snapshots", snaps.len())?;
    Ok(0)
}
