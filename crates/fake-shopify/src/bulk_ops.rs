//! The bulk operations of the shop and their life cycle: CREATED → RUNNING → COMPLETED/FAILED,
//! driven by polls, with the JSONL snapshot taken when an operation is created.

use std::collections::BTreeMap;

/// Where a bulk operation is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkStatus {
    /// Just created.
    Created,
    /// Polled, not done yet.
    Running,
    /// Done; `url` serves the JSONL (or is null when there were no objects).
    Completed,
    /// Failed (injected): `partialDataUrl` serves the first half.
    Failed,
}

impl BulkStatus {
    /// The GraphQL enum value.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Created => "CREATED",
            BulkStatus::Running => "RUNNING",
            BulkStatus::Completed => "COMPLETED",
            BulkStatus::Failed => "FAILED",
        }
    }
}

/// One bulk query operation and its result.
#[derive(Clone, Debug)]
pub struct BulkOp {
    /// Numeric ID.
    pub id: u64,
    /// Status.
    pub status: BulkStatus,
    /// The inner query.
    pub query: String,
    /// Creation time (the model's clock).
    pub created_at: String,
    /// Completion time.
    pub completed_at: Option<String>,
    /// The whole result.
    pub jsonl: Vec<u8>,
    /// Lines in `jsonl`.
    pub objects: u64,
    /// Lines without `__parentId`.
    pub roots: u64,
    /// Bytes of the partial result (the first half of the lines).
    pub partial_len: usize,
    /// Lines in the partial result.
    pub partial_objects: u64,
    /// Root lines in the partial result.
    pub partial_roots: u64,
    /// Polls answered so far.
    pub polls: u32,
    /// Ends FAILED (injected).
    pub will_fail: bool,
    /// Its `url` answers 403 (injected).
    pub expired: bool,
}

impl BulkOp {
    /// `objectCount` once finished.
    pub fn visible_objects(&self) -> u64 {
        if self.status == BulkStatus::Failed {
            self.partial_objects
        } else {
            self.objects
        }
    }

    /// `rootObjectCount` once finished.
    pub fn visible_roots(&self) -> u64 {
        if self.status == BulkStatus::Failed {
            self.partial_roots
        } else {
            self.roots
        }
    }
}

/// All bulk operations of the shop.
#[derive(Debug, Default)]
pub struct BulkOps {
    /// By numeric ID.
    pub ops: BTreeMap<u64, BulkOp>,
    /// The most recent one (`currentBulkOperation`).
    pub last: Option<u64>,
    /// Operations created so far.
    pub created: u64,
}

impl BulkOps {
    /// The most recent operation.
    pub fn current(&self) -> Option<&BulkOp> {
        self.last.and_then(|id| self.ops.get(&id))
    }

    /// The operation still CREATED or RUNNING, if any.
    pub fn in_progress(&self) -> Option<u64> {
        self.current()
            .filter(|b| matches!(b.status, BulkStatus::Created | BulkStatus::Running))
            .map(|b| b.id)
    }

    /// A poll of `id`: the first `poll_steps` polls answer RUNNING, the next one finishes it.
    /// `expire` counts down the injected expiries.
    pub fn poll(&mut self, id: u64, poll_steps: u32, expire: &mut u32, now: &str) {
        let Some(op) = self.ops.get_mut(&id) else {
            return;
        };
        if !matches!(op.status, BulkStatus::Created | BulkStatus::Running) {
            return;
        }
        op.polls += 1;
        if op.polls <= poll_steps {
            op.status = BulkStatus::Running;
            return;
        }
        op.completed_at = Some(now.to_string());
        if op.will_fail {
            op.status = BulkStatus::Failed;
        } else {
            op.status = BulkStatus::Completed;
            if op.objects > 0 && *expire > 0 {
                *expire -= 1;
                op.expired = true;
            }
        }
    }

    /// Records a new operation; returns its ID.
    pub fn insert(&mut self, query: String, result: BulkResult, will_fail: bool, now: &str) -> u64 {
        self.created += 1;
        let id = 5_800_000_000 + self.created * 11;
        self.ops.insert(
            id,
            BulkOp {
                id,
                status: BulkStatus::Created,
                query,
                created_at: now.to_string(),
                completed_at: None,
                objects: result.objects,
                roots: result.roots,
                partial_len: result.partial_len,
                partial_objects: result.partial_objects,
                partial_roots: result.partial_roots,
                jsonl: result.jsonl,
                polls: 0,
                will_fail,
                expired: false,
            },
        );
        self.last = Some(id);
        id
    }
}

/// The JSONL of a bulk query and its counts.
#[derive(Debug, Default)]
pub struct BulkResult {
    /// The lines.
    pub jsonl: Vec<u8>,
    /// Number of lines.
    pub objects: u64,
    /// Lines without a parent.
    pub roots: u64,
    /// Bytes in the first half of the lines.
    pub partial_len: usize,
    /// Lines in that half.
    pub partial_objects: u64,
    /// Root lines in that half.
    pub partial_roots: u64,
}
