//! The Shopify connector: exports a store into a folder of one file per item (see
//! docs/shopify.md for the layout), which the engine then backs up like any tree.
//!
//! Layers: `client` (GraphQL over HTTP, rate limits, retries) -> `bulk` (bulk operations and
//! their JSONL) -> `layout` (where each item goes) -> `media`, `themes` -> `export`, which writes
//! through `staging` so that a failed run leaves the previous export as it was.

mod bulk;
mod client;
mod error;
mod export;
mod fields;
mod layout;
mod media;
mod queries;
mod staging;
mod themes;

pub use client::RetryPolicy;
pub use error::{Error, Result};
pub use export::{
    check_shop, entity_names, export, ExportOptions, ExportReport, DEFAULT_API_VERSION,
};
pub use fields::{compare as compare_fields, phrase, FieldChange};
pub use layout::{guest_folder, ORDER_PERSONAL_FIELDS};
pub use media::MediaCounts;
pub use staging::{STATE_DIR, STATE_FILE};
pub use themes::{ThemeCounts, ThemeSelection};
