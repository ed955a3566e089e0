//! Read-only questions about snapshots: what changed (diff), where is a file (find), what is in a
//! directory (list), how big (stats).

pub mod diff;
pub mod dump;
pub mod find;
pub mod list;
pub mod stats;
#[cfg(test)]
pub(crate) mod test_support;
pub mod tree_reader;
