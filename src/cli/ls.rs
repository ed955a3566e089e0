use super::common::{split_spec, GlobalOpts};
use anyhow::{Context, Result};
use backstock::format::tree::{Node, NodeKind};
use backstock::repository::snapshots::SnapshotFilter;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// SNAPSHOT[:SUBPATH]
    pub snapshot: String,
    /// Show mode, owner, size and modification time
    #[arg(short, long)]
    pub long: bool,
}

fn mode_string(n: &Node) -> String {
    let t = match n.kind {
        NodeKind::Dir => 'd',
        NodeKind::Symlink => 'l',
        NodeKind::File => '-',
    };
    let mut s = String::from(t);
    for shift in [6, 3, 0] {
        let bits = (n.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

fn print_node(g: &GlobalOpts, long: bool, path: &str, n: &Node) -> std::io::Result<()> {
    let mtime = chrono::DateTime::from_timestamp(n.mtime.sec, n.mtime.nsec)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"path": path, "type": n.kind, "mode": n.mode, "uid": n.uid, "gid": n.gid,
                "size": n.size, "mtime": mtime, "link_target": String::from_utf8_lossy(&n.link_target)})
        )?;
    } else if long {
        let link = if n.kind == NodeKind::Symlink {
            format!(" -> {}", String::from_utf8_lossy(&n.link_target))
        } else {
            String::new()
        };
        outln!(
            "{} {:>5} {:>5} {:>12} {} {path}{link}",
            mode_string(n),
            n.uid,
            n.gid,
            n.size,
            mtime
        )?;
    } else {
        outln!("{path}")?;
    }
    Ok(())
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let (repo, _lock) = g.open_for_reading()?;
    let (spec, sub) = split_spec(&a.snapshot);
    let (id, snap) = repo.find_snapshot(spec, &SnapshotFilter::default())?;
    let node = repo
        .find_node(&snap.tree, sub)?
        .with_context(|| format!("{sub:?} does not exist in snapshot {}", id.short()))?;
    let prefix = if sub.is_empty() {
        String::new()
    } else {
        format!("/{}", sub.trim_end_matches('/'))
    };
    if node.kind == NodeKind::Dir {
        if !sub.is_empty() {
            print_node(g, a.long, &prefix, &node)?;
        }
        let each = |path: &str, n: &Node| -> backstock::Result<()> {
            print_node(g, a.long, path, n)?;
            Ok(())
        };
        let top = if prefix.is_empty() { "/" } else { &prefix };
        backstock::list(&repo, top, &node.content, each)?;
    } else {
        print_node(g, a.long, &prefix, &node)?;
    }
    Ok(0)
}
