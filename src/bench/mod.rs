//! Benchmark support: a deterministic synthetic store export (products, customers, orders, theme,
//! media) that can be advanced day by day.

pub mod generate;
pub mod generate_media;
