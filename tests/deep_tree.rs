//! A snapshot whose directories nest 100,000 deep (written by a key holder with the library, as a
//! hostile or broken writer could) makes no command overflow its stack (issue 8, point 23): each one
//! finishes or stops with an error that says what is wrong.

mod common;

use backstock::backend::LocalBackend;
use backstock::format::snapshot::{Snapshot, VERSION};
use backstock::format::tree::{Node, NodeKind, Timestamp};
use backstock::ids::BlobId;
use backstock::repository::lock::LockKind;
use backstock::repository::saver::BlobSaver;
use backstock::repository::{OpenOptions, Repository};
use common::*;
use std::sync::Arc;

const DEPTH: usize = 100_000;

fn node(name: &[u8], kind: NodeKind, content: Vec<BlobId>, size: u64) -> Node {
    Node {
        name: name.to_vec(),
        kind,
        mode: if kind == NodeKind::Dir { 0o755 } else { 0o644 },
        uid: 0,
        gid: 0,
        mtime: Timestamp { sec: 1, nsec: 0 },
        ctime: Timestamp::default(),
        inode: 0,
        device: 0,
        size,
        content,
        link_target: vec![],
    }
}

/// Writes a snapshot of `d/d/.../d/leaf.txt`, `DEPTH` directories deep; returns its ID.
fn deep_snapshot(env: &Env) -> String {
    let repo = Repository::open(
        Arc::new(LocalBackend::new(&env.repo)),
        PASSWORD.as_bytes(),
        &OpenOptions {
            no_cache: true,
            ..Default::default()
        },
    )
    .unwrap();
    let _lock = repo.lock(LockKind::Append).unwrap();
    let saver = BlobSaver::new(&repo).unwrap();
    let (data, _) = saver
        .save(
            backstock::format::blob_entry::BlobType::Data,
            b"at the bottom",
            true,
        )
        .unwrap();
    let mut dir = saver
        .save_tree(&[node(b"leaf.txt", NodeKind::File, vec![data], 13)], false)
        .unwrap();
    for _ in 0..DEPTH {
        dir = saver
            .save_tree(&[node(b"d", NodeKind::Dir, dir, 0)], false)
            .unwrap();
    }
    let root = saver
        .save_tree(&[node(b"top", NodeKind::Dir, dir, 0)], true)
        .unwrap()[0];
    saver.finish().unwrap();
    let snap = Snapshot {
        version: VERSION,
        time: chrono::Local::now().fixed_offset(),
        hostname: "deep".into(),
        username: "deep".into(),
        paths: vec!["/top".into()],
        tags: vec![],
        tree: root,
        parent: None,
        program_version: "test".into(),
        summary: Default::default(),
    };
    repo.save_snapshot(&snap).unwrap().to_hex()
}

#[test]
fn a_very_deep_tree_crashes_no_command() {
    let env = Env::init();
    write(&env.path("data/a.txt"), b"a normal snapshot beside it");
    let normal = env.backup(&["data"]);
    let deep = deep_snapshot(&env);
    let target = env.path("target");
    let target_s = target.to_string_lossy().into_owned();
    for args in [
        vec!["ls", deep.as_str()],
        vec!["find", "leaf.txt"],
        vec!["diff", normal.as_str(), deep.as_str()],
        vec!["stats", deep.as_str()],
        vec!["check"],
        vec!["restore", deep.as_str(), "--target", &target_s],
        vec!["prune", "--dry-run"],
    ] {
        let out = env.run(&args);
        // A signal (SIGSEGV, SIGABRT from a stack overflow) leaves no exit code.
        let code = out.status.code();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(code, Some(0) | Some(1)),
            "{args:?} crashed: {code:?}\n{err}"
        );
        assert_no_panic(&err);
        if code == Some(1) {
            assert!(
                err.contains("deeper") || err.contains("nested"),
                "{args:?}: {err}"
            );
        }
    }
    // The normal snapshot is unaffected.
    let t2 = env.dir("normal");
    env.restore(&normal, &t2, &[]);
    assert_eq!(
        std::fs::read(t2.join("data/a.txt")).unwrap(),
        b"a normal snapshot beside it"
    );
}
