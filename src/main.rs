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
    if cli.global.quiet {
        std::env::set_var("BACKSTOCK_QUIET", "1");
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
            backstock::error::exit_code_for(&e)
        }
    };
    std::process::exit(code);
}

/// Whether the error is a write to standard output that failed because the pipe was closed.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
