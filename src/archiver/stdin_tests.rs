//! `--stdin` goes through the streaming chunker: a stream several batches and many chunks long is
//! stored as many blobs and restores identical.

use super::*;
use crate::backend::LocalBackend;
use crate::crypto::kdf::KdfParams;
use crate::restorer::{self, RestoreOptions, RestoreProgress};
use std::sync::Arc;

/// Pseudo-random bytes (incompressible, so media-sized chunks), `left` of them, produced as read.
struct Noise {
    state: u64,
    left: u64,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left as usize);
        for b in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *b = self.state as u8;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn noise(len: u64) -> Noise {
    Noise {
        state: 0x9e37_79b9_7f4a_7c15,
        left: len,
    }
}

#[test]
fn stdin_larger_than_the_stream_buffer_restores_identical() {
    let dir = tempfile::tempdir().unwrap();
    let kdf = KdfParams {
        m_cost: 8192,
        t_cost: 1,
        p_cost: 1,
    };
    let backend = Arc::new(LocalBackend::new(dir.path().join("repo")));
    let mut repo = Repository::init(backend, b"test", kdf).unwrap();
    // Three stream buffers, and many times the largest chunk.
    let len = 3 * file::STREAM_BUF as u64 + 12_345;
    let opts = BackupOptions {
        stdin_name: Some("db.dump".into()),
        ..Default::default()
    };
    let result = backup_from(&mut repo, &opts, &Progress::default(), &mut noise(len)).unwrap();
    assert_eq!(result.snapshot.paths, ["/db.dump"]);
    assert_eq!(result.snapshot.summary.bytes_read, len);

    let guard = repo.lock(LockKind::Read).unwrap();
    repo.load_index(&guard).unwrap();
    let node = repo
        .find_node(&result.snapshot.tree, "db.dump")
        .unwrap()
        .unwrap();
    assert_eq!(node.size, len);
    assert!(node.content.len() > 8, "{} blobs", node.content.len());
    let target = dir.path().join("restored");
    let opts = RestoreOptions {
        target: target.clone(),
        ..Default::default()
    };
    let summary = restorer::restore(
        &repo,
        &guard,
        &result.snapshot.tree,
        "",
        &opts,
        &RestoreProgress::default(),
    )
    .unwrap();
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let mut want = Vec::new();
    noise(len).read_to_end(&mut want).unwrap();
    let got = std::fs::read(target.join("db.dump")).unwrap();
    assert!(got == want, "the restored stream differs");
}
