//! The `backstock` binary: parses the command line, runs it, prints errors with their whole chain and
//! picks the exit code.

mod cli;

use clap::Parser;

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    cli::log::init(cli.global.quiet, cli.global.verbose);
    cli::take_password_from_environment();
    // Backup walks directories recursively on the pool's threads, as deep as the format allows
    // (format::tree::MAX_DEPTH levels); the default 2 MiB stacks leave too little margin for that.
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .stack_size(32 << 20)
        .build_global()
    {
        log::warn!("{e}");
    }
    if let Err(e) = on_interrupt() {
        log::warn!("cannot handle Ctrl-C and SIGTERM: {e}");
    }
    let code = match cli::run(cli) {
        Ok(code) => code,
        // The reader of our output went away (`backstock ls ... | head`): stop quietly, as cat does.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            cli::exit::code_for(&e)
        }
    };
    std::process::exit(code);
}

/// On SIGINT or SIGTERM: remove this process's lock files and partial files, say so, and exit with
/// 128 + the signal. Work still running is told its lock is lost, so it writes nothing more that
/// would rely on it; whatever it wrote already is harmless (unreferenced packs, which prune removes).
fn on_interrupt() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            cli::mount::unmount_on_exit();
            let locks = backstock::repository::lock::release_held_locks();
            let partial = backstock::backend::local::remove_partial_files();
            // After the locks: releasing one goes through its repository's server.
            backstock::backend::rclone::stop_servers();
            if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                eprint!("\r\x1b[2K");
            }
            let (name, code) = if sig == SIGINT {
                ("SIGINT", cli::exit::INTERRUPTED_INT)
            } else {
                ("SIGTERM", cli::exit::INTERRUPTED_TERM)
            };
            eprintln!(
                "error: interrupted by {name}: removed {locks} lock file(s) and {partial} partial file(s); what was saved before stays valid, nothing after it was"
            );
            std::process::exit(code);
        }
    });
    Ok(())
}

/// Whether the error is a write to standard output that failed because the pipe was closed.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(broken)
            || c.downcast_ref::<backstock::Error>()
                .and_then(|b| b.find::<std::io::Error>())
                .is_some_and(broken)
    })
}
