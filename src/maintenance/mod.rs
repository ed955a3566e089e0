//! Maintenance: retention policies (forget), giving space back (prune), verification (check) and
//! rebuilding the index from packs and snapshots around lost data (repair).

pub mod check;
pub mod forget;
pub mod index_commit;
pub mod prune;
/// Public for the fuzz target of prune's accounting; prune is the only user.
#[doc(hidden)]
pub mod prune_plan;
pub mod repair;
pub mod repair_snapshots;
