//! Read-only questions about snapshots: what changed (diff), where is a file (find), how big (stats).

pub mod diff;
pub mod find;
pub mod stats;
