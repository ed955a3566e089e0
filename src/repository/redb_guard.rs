//! Calls into redb with its panics caught. redb panics instead of returning an error on some
//! damaged files (a flipped byte in its allocator state, met at open or at a later commit), and
//! the cache holds only what the repository can give again, so such a panic must cost the cache,
//! never the command.
//!
//! The panic hook in force when a guarded call first runs is wrapped once: it stays silent for a
//! panic inside a guarded call on that thread (the caller reports it, as a warning) and is called
//! as before for every other panic.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Runs `f`; a panic inside it comes back as `Err` with the panic's message.
pub(super) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message_and_values_pass_through() {
        assert_eq!(guarded(|| 7), Ok(7));
        let e = guarded(|| -> u8 { panic!("bitmap out of range {}", 3) }).unwrap_err();
        assert_eq!(e, "bitmap out of range 3");
        // Nested calls leave the outer one guarded.
        let outer = guarded(|| {
            let inner = guarded(|| -> u8 { panic!("inner") });
            assert!(inner.is_err());
            GUARDED.with(Cell::get)
        });
        assert_eq!(outer, Ok(true));
        assert!(!GUARDED.with(Cell::get));
    }
}
