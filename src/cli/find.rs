use super::common::{human, GlobalOpts};
use anyhow::Result;
use backstock::format::tree::{NodeKind, Timestamp};
use backstock::Finder;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Glob patterns: without '/' they match names, with '/' paths relative to the snapshot root
    #[arg(required = true)]
    pub patterns: Vec<String>,
    /// Search only this snapshot (repeatable; default: all snapshots)
    #[arg(short = 's', long = "snapshot")]
    pub snapshots: Vec<String>,
}

fn rfc3339(t: Timestamp) -> Option<String> {
    chrono::DateTime::from_timestamp(t.sec, t.nsec).map(|d| d.to_rfc3339())
}

fn local(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp(t.sec, t.nsec)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, _lock) = g.open_for_reading()?;
    let mut snaps = repo.select_snapshots(&a.snapshots)?;
    let mut finder = Finder::new(&repo, &a.patterns)?;
    let mut json = Vec::new();
    let (mut found_in, mut total) = (0, 0);
    for (id, snap) in snaps.drain(..) {
        let matches = finder.find(&snap.tree)?;
        if matches.is_empty() {
            continue;
        }
        found_in += 1;
        total += matches.len();
        if g.json {
            let m: Vec<_> = matches
                .iter()
                .map(|m| {
                    serde_json::json!({"path": m.path, "type": m.kind, "size": m.size,
                        "mtime": rfc3339(m.mtime)})
                })
                .collect();
            json.push(
                serde_json::json!({"snapshot": id, "time": snap.time.to_rfc3339(),
                "matches": m}),
            );
            continue;
        }
        outln!(
            "snapshot {} of {} ({}):",
            id.short(),
            snap.time
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S"),
            snap.hostname
        )?;
        for m in &matches {
            let kind = match m.kind {
                NodeKind::Dir => "dir",
                NodeKind::CharDevice => "chardev",
                NodeKind::BlockDevice => "blockdev",
                other => other.describe(),
            };
            outln!(
                "  {kind:<8} {:>12}  {}  {}",
                human(m.size),
                local(m.mtime),
                m.path
            )?;
        }
        outln!()?;
    }
    if g.json {
        outln!("{}", serde_json::to_string_pretty(&json)?)?;
    } else if !g.quiet {
        let searched = if a.snapshots.is_empty() {
            "all snapshots".to_string()
        } else {
            "the given snapshots".to_string()
        };
        if total == 0 {
            outln!("no matches in {searched}")?;
        } else {
            outln!("{total} matches in {found_in} snapshots ({searched} searched)")?;
        }
    }
    Ok(0)
}
