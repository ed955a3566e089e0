//! The command line's logger for the library's `log` records: warnings and errors on stderr as
//! `warning: ...` and `error: ...`, info and debug only with `-v` and `-vv`; `-q` leaves errors only.
//!
//! Thirty lines rather than env_logger: its format puts a time stamp, level and module in front of
//! every line, while scripts and the tests match the bare `warning: <message>`; and it would let
//! `RUST_LOG` change what the command prints.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;

struct Stderr;

static LOGGER: Stderr = Stderr;

impl Log for Stderr {
    fn enabled(&self, m: &Metadata) -> bool {
        // Dependencies' chatter below warnings shows only at -vvv; fuser's warnings too (it warns
        // of every request a read-only file system leaves unimplemented, and of unmounting a file
        // system `umount` already unmounted).
        let ours = m.target().starts_with("backstock");
        let level = if m.target().starts_with("fuser") {
            Level::Error
        } else {
            Level::Warn
        };
        m.level() <= log::max_level()
            && (m.level() <= level || ours || log::max_level() == LevelFilter::Trace)
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let prefix = match r.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        // A closed stderr is no reason to fail (eprintln! would panic).
        let _ = writeln!(std::io::stderr().lock(), "{prefix}: {}", r.args());
    }

    fn flush(&self) {}
}

/// Installs the logger: errors only with `quiet`, else warnings, and info, debug, trace for each
/// `-v`.
pub fn init(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => LevelFilter::Error,
        (false, 0) => LevelFilter::Warn,
        (false, 1) => LevelFilter::Info,
        (false, 2) => LevelFilter::Debug,
        (false, _) => LevelFilter::Trace,
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
