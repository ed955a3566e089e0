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
