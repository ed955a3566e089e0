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
        NodeKind::Fifo => 'p',
        NodeKind::Socket => 's',
        NodeKind::CharDevice => 'c',
        NodeKind::BlockDevice => 'b',
    };
    let mut s = String::from(t);
    // Each triple's execute slot also shows setuid, setgid and sticky, as ls(1) does.
    for (shift, special, set) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (n.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(match (bits & 1 != 0, n.mode & special != 0) {
            (true, true) => set,
            (false, true) => set.to_ascii_uppercase(),
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// A device's number as "major, minor"; a file's size.
fn size_column(n: &Node) -> String {
    if n.kind.is_device() {
        let (major, minor) = (rustix::fs::major(n.rdev), rustix::fs::minor(n.rdev));
        format!("{major}, {minor}")
    } else {
        n.size.to_string()
    }
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
        // Times with their zone (RFC 3339, local offset), to the nanosecond.
        let rfc3339 = |t: backstock::format::tree::Timestamp| {
            chrono::DateTime::from_timestamp(t.sec, t.nsec).map(|d| {
                d.with_timezone(&chrono::Local)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
            })
        };
        outln!(
            "{}",
            serde_json::json!({"path": path, "name": n.name_lossy(), "type": n.kind, "mode": n.mode,
                "permissions": mode_string(n), "uid": n.uid, "gid": n.gid,
                "size": n.size, "mtime": rfc3339(n.mtime), "ctime": rfc3339(n.ctime), "link_target": String::from_utf8_lossy(&n.link_target),
                "inode": n.inode, "links": n.links, "device_number": n.rdev,
                "xattrs": n.xattrs.iter().map(|x| String::from_utf8_lossy(&x.name).into_owned()).collect::<Vec<_>>()})
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
            size_column(n),
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
