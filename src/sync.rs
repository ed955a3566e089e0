//! Small synchronisation helpers shared by every layer.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data if another thread panicked while holding it: the data
/// guarded in this crate (counters, lists of findings, lock state) stays consistent at every
/// statement, so a panic elsewhere does not make it unusable.
pub fn unpoisoned<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
