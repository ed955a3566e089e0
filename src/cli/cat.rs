use super::common::GlobalOpts;
use anyhow::{anyhow, bail, Context, Result};
use backstock::backend::FileType;
use backstock::format::keyfile::KeyFile;
use backstock::format::tree::{self, Node};
use backstock::ids::{BlobId, IndexId, PackId};
use backstock::repository::snapshots::SnapshotFilter;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// config, snapshot, tree, index, pack or key
    pub kind: String,
    /// The object's ID (snapshot: also a prefix or latest)
    pub id: Option<String>,
}

fn node_json(n: &Node) -> serde_json::Value {
    serde_json::json!({
        "name": n.name_lossy(), "type": n.kind, "mode": format!("{:o}", n.mode), "uid": n.uid, "gid": n.gid,
        "mtime": n.mtime, "ctime": n.ctime, "inode": n.inode, "device": n.device, "size": n.size,
        "content": n.content, "link_target": String::from_utf8_lossy(&n.link_target),
    })
}

pub fn run(g: &GlobalOpts, a: Args) -> Result<i32> {
    let need_id = || {
        a.id.clone()
            .ok_or_else(|| anyhow!("`cat {}` needs an ID", a.kind))
    };
    let value = match a.kind.as_str() {
        "config" => serde_json::to_value(g.open()?.config())?,
        "snapshot" => {
            let (repo, _lock) = g.open_for_reading()?;
            let (id, s) = repo.find_snapshot(&need_id()?, &SnapshotFilter::default())?;
            super::snapshots::snapshot_json(&id, &s)
        }
        "tree" => {
            let (repo, _lock) = g.open_for_reading()?;
            let id = BlobId::from_hex(&need_id()?)?;
            let plain = repo.read_blob(&id)?;
            let nodes =
                tree::decode_blob(&plain).with_context(|| format!("decoding tree blob {id}"))?;
            serde_json::Value::Array(nodes.iter().map(node_json).collect())
        }
        "index" => {
            let repo = g.open()?;
            let _lock = repo.lock_for_listing()?;
            let id = IndexId::from_hex(&need_id()?)?;
            serde_json::to_value(repo.read_index_file(id, None)?)?
        }
        "pack" => {
            let repo = g.open()?;
            let _lock = repo.lock_for_listing()?;
            let id = PackId::from_hex(&need_id()?)?;
            let bytes = repo.backend().read(FileType::Pack, &id.to_hex())?;
            let entries = repo
                .parse_pack(&bytes)
                .with_context(|| format!("decoding pack {id}"))?;
            serde_json::json!({"id": id, "size": bytes.len(), "blobs": entries})
        }
        "key" => {
            let backend = g.backend()?;
            let name = need_id()?;
            let kf = KeyFile::decode(&backend.read(FileType::Key, &name)?)?;
            serde_json::json!({"id": name, "created": kf.created, "host": kf.host, "user": kf.user,
                "kdf": {"algorithm": "argon2id", "m_cost_kib": kf.kdf.m_cost, "t_cost": kf.kdf.t_cost, "p_cost": kf.kdf.p_cost}})
        }
        other => bail!("cannot cat {other:?}: use config, snapshot, tree, index, pack or key"),
    };
    outln!("{}", serde_json::to_string_pretty(&value)?)?;
    Ok(0)
}
