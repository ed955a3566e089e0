//! The Shopify connector: exports a store into a folder of one file per item (see
//! docs/shopify.md for the layout), which the engine then backs up like any tree.
//!
//! Layers: `client` (GraphQL over HTTP, rate limits, retries) -> `bulk` (bulk operations and
//! their JSONL) -> `layout` (where each item goes) -> `media`, `themes` -> `export`, which writes
//! through `staging` so that a failed run leaves the previous export as it was. Over snapshots of
//! an export: `items` (which item a file is) -> `fields` (two versions compared as JSON) ->
//! `diff`, `history`.

mod bulk;
mod client;
mod diff;
mod erase;
mod error;
mod export;
mod fields;
mod history;
mod items;
mod layout;
mod media;
mod pages;
mod product_input;
mod queries;
mod restore;
mod restore_records;
mod staging;
mod themes;

pub use client::RetryPolicy;
pub use diff::{diff, export_snapshot, ItemChange, ItemChangeKind, StoreDiff};
pub use erase::{check_customer, erase_customer, EraseReport};
pub use error::{Error, Result};
pub use export::{
    check_shop, entity_names, export, Connection, ExportOptions, ExportReport, DEFAULT_API_VERSION,
};
pub use fields::{compare as compare_fields, phrase, FieldChange};
pub use history::{history, Version};
pub use items::{file_of, item_of, ItemKey};
pub use layout::{guest_folder, ORDER_PERSONAL_FIELDS};
pub use media::MediaCounts;
pub use restore::{
    restore, ItemResult, Outcome, RestoreOptions, RestoreReport, NOT_RESTORABLE_PEOPLE,
};
pub use staging::{AUDIT_FILE, IDS_FILE, STATE_DIR, STATE_FILE};
pub use themes::{ThemeCounts, ThemeSelection};
