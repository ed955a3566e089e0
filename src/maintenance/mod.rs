//! Maintenance: retention policies (forget), giving space back (prune), verification (check) and
//! rebuilding the index from packs and snapshots around lost data (repair).

pub mod check;
pub mod forget;
pub(crate) mod index_commit;
pub mod prune;
/// Prune's accounting (which packs to keep, repack or delete); public for its fuzz target and
/// the integration tests, prune is the only user in the engine.
pub mod prune_plan;
pub mod repair;
pub mod repair_snapshots;
pub mod rewrite;
pub mod tag;
