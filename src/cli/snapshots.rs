use super::common::GlobalOpts;
use anyhow::Result;
use backstock::format::snapshot::Snapshot;
use backstock::ids::SnapshotId;
use backstock::repository::groups::{group, GroupBy};
use backstock::repository::snapshots::SnapshotFilter;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only these snapshots (IDs, prefixes or `latest`)
    pub snapshots: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only the newest N snapshots of each group (groups of host and paths unless --group-by)
    #[arg(long, value_name = "N")]
    pub latest: Option<usize>,
    /// List per group of these fields: host, paths and/or tags, comma-separated
    #[arg(long, value_name = "FIELDS", value_parser = parse_group_by)]
    pub group_by: Option<GroupBy>,
    /// One short line per snapshot: ID, time, host and tags
    #[arg(short, long)]
    pub compact: bool,
}

fn parse_group_by(s: &str) -> Result<GroupBy> {
    Ok(s.parse()?)
}

/// `--host`, `--tag`, `--path` snapshot filters, shared by the commands that select snapshots.
#[derive(clap::Args, Debug, Clone)]
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
    let chosen = if a.snapshots.is_empty() {
        repo.snapshots()?
    } else {
        repo.select_snapshots(&a.snapshots)?
    };
    let snaps: Vec<_> = chosen
        .into_iter()
        .filter(|(_, s)| filter.matches(s))
        .collect();
    // As in restic: --latest alone counts per host and paths; without either, one list.
    let by = match (a.group_by, a.latest) {
        (Some(by), _) => Some(by),
        (None, Some(_)) => Some(GroupBy::default()),
        (None, None) => None,
    };
    let groups = group(snaps, by.unwrap_or(NO_GROUPS), a.latest);
    if g.json {
        let list = |v: &[(SnapshotId, Snapshot)]| -> Vec<serde_json::Value> {
            v.iter().map(|(id, s)| snapshot_json(id, s)).collect()
        };
        let out = match a.group_by {
            Some(_) => serde_json::Value::Array(
                groups
                    .iter()
                    .map(|(k, v)| {
                        serde_json::json!({"group_key": {"hostname": k.host, "paths": k.paths,
                            "tags": k.tags}, "snapshots": list(v)})
                    })
                    .collect(),
            ),
            // One list, oldest first, whatever --latest picked from each group.
            None => {
                let mut all: Vec<&(SnapshotId, Snapshot)> =
                    groups.iter().flat_map(|(_, v)| v).collect();
                all.sort_by_key(|(id, s)| (s.time, *id));
                serde_json::Value::Array(all.iter().map(|(id, s)| snapshot_json(id, s)).collect())
            }
        };
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
        return Ok(0);
    }
    let mut total = 0;
    for (k, v) in &groups {
        if by.is_some() {
            let mut parts = Vec::new();
            if let Some(h) = &k.host {
                parts.push(format!("host [{h}]"));
            }
            if let Some(p) = &k.paths {
                parts.push(format!("paths [{}]", p.join(", ")));
            }
            if let Some(t) = &k.tags {
                parts.push(format!("tags [{}]", t.join(", ")));
            }
            outln!("snapshots for {}:", parts.join(", "))?;
        }
        table(v, a.compact)?;
        total += v.len();
    }
    if by.is_some() || groups.is_empty() {
        outln!("{total} snapshots")?;
    }
    Ok(0)
}

/// One list: no field makes a group.
const NO_GROUPS: GroupBy = GroupBy {
    host: false,
    paths: false,
    tags: false,
};

fn table(snaps: &[(SnapshotId, Snapshot)], compact: bool) -> std::io::Result<()> {
    let time = |s: &Snapshot| {
        s.time
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    if compact {
        outln!("{:<10} {:<20} {:<16} Tags", "ID", "Time", "Host")?;
        outln!("{}", "-".repeat(60))?;
        for (id, s) in snaps {
            outln!(
                "{:<10} {:<20} {:<16} {}",
                id.short(),
                time(s),
                s.hostname,
                s.tags.join(",")
            )?;
        }
        outln!("{}", "-".repeat(60))?;
    } else {
        outln!(
            "{:<10} {:<20} {:<16} {:<16} Paths",
            "ID",
            "Time",
            "Host",
            "Tags"
        )?;
        outln!("{}", "-".repeat(80))?;
        for (id, s) in snaps {
            outln!(
                "{:<10} {:<20} {:<16} {:<16} {}",
                id.short(),
                time(s),
                s.hostname,
                s.tags.join(","),
                s.paths.join(", ")
            )?;
        }
        outln!("{}", "-".repeat(80))?;
    }
    outln!("{} snapshots", snaps.len())?;
    Ok(())
}
