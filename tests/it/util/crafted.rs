//! Snapshots written with the library, for trees no file system walk produces.

use super::{Env, PASSWORD};

/// Writes a snapshot made with the library, for trees no file system walk produces (foreign
/// owners, hostile nesting): `build` stores blobs with the saver and returns the root's nodes.
/// Returns the snapshot's ID.
pub fn write_snapshot(
    env: &Env,
    build: impl FnOnce(&backstock::repository::saver::BlobSaver) -> Vec<backstock::format::tree::Node>,
) -> String {
    use backstock::repository::{OpenOptions, Repository};
    let backend = std::sync::Arc::new(backstock::backend::LocalBackend::new(&env.repo));
    let opts = OpenOptions {
        no_cache: true,
        ..Default::default()
    };
    let mut repo = Repository::open(backend, PASSWORD.as_bytes(), &opts).unwrap();
    let lock = repo
        .lock(backstock::repository::lock::LockKind::Append)
        .unwrap();
    repo.load_index(&lock).unwrap();
    let saver = backstock::repository::saver::BlobSaver::new(&repo).unwrap();
    let mut nodes = build(&saver);
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let tree = saver.save_tree(&nodes, true).unwrap()[0];
    saver.finish().unwrap();
    let snap = backstock::format::snapshot::Snapshot {
        version: backstock::format::snapshot::VERSION,
        time: chrono::Local::now().fixed_offset(),
        hostname: "crafted".into(),
        username: "crafted".into(),
        paths: vec!["crafted".into()],
        tags: vec![],
        tree,
        parent: None,
        program_version: "test".into(),
        summary: Default::default(),
        original: None,
    };
    repo.save_snapshot(&snap).unwrap().to_hex()
}

/// A node of `kind` named `name` with mode, owner and mtime; content, size and link target empty.
pub fn bare_node(
    name: &str,
    kind: backstock::format::tree::NodeKind,
    mode: u32,
    uid: u32,
    gid: u32,
) -> backstock::format::tree::Node {
    backstock::format::tree::Node {
        name: name.as_bytes().to_vec(),
        kind,
        mode,
        uid,
        gid,
        mtime: backstock::format::tree::Timestamp {
            sec: 1_600_000_000,
            nsec: 0,
        },
        ctime: Default::default(),
        inode: 0,
        device: 0,
        size: 0,
        content: vec![],
        link_target: vec![],
        rdev: 0,
        links: 0,
        xattrs: vec![],
    }
}

/// A file node holding `data` (stored as one blob).
pub fn file_node(
    saver: &backstock::repository::saver::BlobSaver,
    name: &str,
    data: &[u8],
    mode: u32,
    uid: u32,
    gid: u32,
) -> backstock::format::tree::Node {
    let mut n = bare_node(
        name,
        backstock::format::tree::NodeKind::File,
        mode,
        uid,
        gid,
    );
    if !data.is_empty() {
        let (id, _) = saver
            .save(backstock::format::blob_entry::BlobType::Data, data, true)
            .unwrap();
        n.content = vec![id];
    }
    n.size = data.len() as u64;
    n
}
