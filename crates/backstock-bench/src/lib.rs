//! Benchmark support: a deterministic synthetic store export (products, customers, orders, theme,
//! media) that can be advanced day by day, and `backstock bench`, which replays it into repositories
//! and measures each step.

pub mod generate;
pub mod measure;
pub mod replay;
