//! A command's output as the data of `backup --stdin-from-command`: the command runs without a
//! shell, its standard output is read to the end, and a command that fails turns the end of its
//! output into an error, so the backup stops before it saves a snapshot of a partial dump.

use std::io::{self, Read};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The standard output of a running command.
pub struct CommandOutput {
    child: Child,
    out: ChildStdout,
    /// The program's name, for messages (its arguments may hold secrets).
    program: String,
    ended: bool,
}

impl CommandOutput {
    /// Starts `argv[0]` with the rest as arguments; its standard error stays the caller's.
    pub fn start(argv: &[String]) -> io::Result<CommandOutput> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no command given"))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting {program}: {e}")))?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("the command's output was not captured"))?;
        Ok(CommandOutput {
            child,
            out,
            program: program.clone(),
            ended: false,
        })
    }
}

impl Read for CommandOutput {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        let n = self.out.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let status = self.child.wait()?;
            if !status.success() {
                return Err(io::Error::other(format!(
                    "{} failed ({status}); no snapshot is saved of its output",
                    self.program
                )));
            }
            self.ended = true;
        }
        Ok(n)
    }
}

impl Drop for CommandOutput {
    fn drop(&mut self) {
        // A backup that stopped early (its repository failed) does not leave the command behind.
        if !self.ended {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(argv: &[&str]) -> io::Result<Vec<u8>> {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        CommandOutput::start(&argv)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn output_of_a_command_and_failures() {
        assert_eq!(run(&["printf", "a\\nb"]).unwrap(), b"a\nb");
        let e = run(&["sh", "-c", "echo partial; exit 3"]).unwrap_err();
        assert!(e.to_string().contains("sh failed (exit status: 3)"), "{e}");
        let e = run(&["/nonexistent/dumper", "--password=secret"]).unwrap_err();
        assert!(
            e.to_string().contains("starting /nonexistent/dumper"),
            "{e}"
        );
        assert!(!e.to_string().contains("secret"));
        assert!(run(&[]).is_err());
    }
}
