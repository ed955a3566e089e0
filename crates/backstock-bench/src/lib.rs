//! The benchmark harness behind `backstock bench`: a deterministic synthetic store export
//! (products, customers, orders, theme, media) that can be advanced day by day ([`generate`]), and
//! a replay of it into fresh repositories ([`replay`]) that runs the `backstock` executable (and
//! restic's) as subprocesses and measures each step ([`measure`]), with the repositories in local
//! directories, behind a REST server or in an S3 bucket ([`via`]). It does not link the backstock
//! library: what it measures is the program as users run it.

pub mod generate;
pub mod measure;
pub mod replay;
pub mod via;
