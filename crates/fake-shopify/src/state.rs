//! The state shared by the server threads and the test's handle: the model, the bulk operations,
//! the bucket, the counters and the injected faults.

use crate::bulk_ops::BulkOps;
use crate::generate::StoreParams;
use crate::model::Store;
use crate::staged::StagedUploads;
use crate::throttle::Bucket;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

/// How the server behaves.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The bucket's size (`maximumAvailable`).
    pub bucket_size: f64,
    /// Points restored per second (`restoreRate`).
    pub restore_rate: f64,
    /// The `Retry-After` header of a 429 answer.
    pub retry_after: String,
    /// Polls of a bulk operation answered RUNNING before it finishes.
    pub poll_steps: u32,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            port: 0,
            bucket_size: 2000.0,
            restore_rate: 100.0,
            retry_after: "2.0".into(),
            poll_steps: 1,
        }
    }
}

/// What the server has served (a snapshot).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// POSTs to the GraphQL endpoint, whatever their answer (401, 429 and THROTTLED included).
    pub graphql_requests: u64,
    /// Bulk operations created.
    pub bulk_operations: u64,
    /// Media files served (200 answers).
    pub media_downloads: u64,
    /// Bytes of media served.
    pub media_bytes: u64,
    /// Theme file bodies sent.
    pub theme_bodies: u64,
    /// THROTTLED answers (injected or from the bucket).
    pub throttled: u64,
    /// 429 answers.
    pub too_many: u64,
    /// JSONL files served (200 answers, partial ones included).
    pub jsonl_downloads: u64,
    /// Files received by staged upload targets (`PUT`/`POST /_staged/<token>`, accepted ones).
    pub staged_uploads: u64,
    /// Bytes of those files.
    pub staged_bytes: u64,
}

/// Everything behind the lock.
#[derive(Debug)]
pub struct State {
    /// The model.
    pub store: Store,
    /// Its parameters (for `advance`).
    pub params: StoreParams,
    /// Server options.
    pub options: ServerOptions,
    /// Bulk operations.
    pub bulk: BulkOps,
    /// Staged upload targets and the files uploaded to them.
    pub staged: StagedUploads,
    /// The rate limit.
    pub bucket: Bucket,
    /// Counters.
    pub counters: Counters,
    /// GraphQL POSTs still to answer THROTTLED.
    pub throttle_next: u32,
    /// GraphQL POSTs still to answer 429.
    pub too_many_next: u32,
    /// Bulk operations still to fail.
    pub fail_next_bulk: u32,
    /// Completed bulk operations whose URL will still answer 403.
    pub expire_next_bulk: u32,
    /// Denied access scopes.
    pub denied: BTreeSet<String>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// Locks, ignoring poisoning (a panicking request must not take the fake down).
pub fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, v: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json; charset=utf-8",
            headers: Vec::new(),
            body: serde_json::to_vec(v).unwrap_or_default(),
        }
    }

    /// `{"errors": message}`.
    pub fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, &serde_json::json!({ "errors": message }))
    }

    /// Raw bytes.
    pub fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type,
            headers: Vec::new(),
            body,
        }
    }
}
