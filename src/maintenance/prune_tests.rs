use super::*;
use crate::archiver::{self, BackupOptions, Progress};
use crate::backend::LocalBackend;
use crate::crypto::kdf::KdfParams;
use crate::repository::OpenOptions;
use std::path::Path;
use std::sync::Arc;

const PW: &[u8] = b"test";

fn open(dir: &Path) -> Repository {
    Repository::open(
        Arc::new(LocalBackend::new(dir.join("repo"))),
        PW,
        &OpenOptions {
            cache_dir: Some(dir.join("cache")),
            ..Default::default()
        },
    )
    .unwrap()
}

fn backup(repo: &mut Repository, src: &Path) -> (SnapshotId, BlobId) {
    let opts = BackupOptions {
        paths: vec![src.to_path_buf()],
        ..Default::default()
    };
    let r = archiver::backup(repo, &opts, &Progress::default()).unwrap();
    (r.id.expect("not a dry run"), r.snapshot.tree)
}

fn cached(repo: &Repository, id: &BlobId) -> bool {
    let cache = repo.cache().expect("the test repository has a cache");
    cache.get_tree(id).unwrap().is_some()
}

#[test]
fn pruned_trees_leave_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let kdf = KdfParams {
        m_cost: 8192,
        t_cost: 1,
        p_cost: 1,
    };
    let backend = Arc::new(LocalBackend::new(dir.path().join("repo")));
    Repository::init(backend, PW, kdf).unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("gone")).unwrap();
    std::fs::write(src.join("kept.txt"), b"kept").unwrap();
    std::fs::write(src.join("gone/old.txt"), b"only in the first snapshot").unwrap();
    let mut repo = open(dir.path());
    let (first, old_root) = backup(&mut repo, &src);
    std::fs::remove_dir_all(src.join("gone")).unwrap();
    let (_, new_root) = backup(&mut repo, &src);
    assert!(cached(&repo, &old_root) && cached(&repo, &new_root));

    let guard = repo.lock(LockKind::Exclusive).unwrap();
    repo.delete(FileType::Snapshot, &first.to_hex()).unwrap();
    let report = prune_locked(&mut repo, &guard, &PruneOptions::default()).unwrap();
    assert!(report.blobs_unused > 0, "{report:?}");
    assert!(
        !cached(&repo, &old_root),
        "the forgotten root tree is still cached"
    );
    assert!(
        cached(&repo, &new_root),
        "the live root tree left the cache"
    );
}
