//! Maintenance: retention policies (forget), giving space back (prune), verification (check) and
//! rebuilding the index from packs (repair).

pub mod check;
pub mod forget;
pub mod prune;
pub mod repair;
