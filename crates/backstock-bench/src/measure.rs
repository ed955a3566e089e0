//! Measuring helpers for `backstock bench`: run a subprocess while sampling its peak resident set
//! size, sum the sizes of a directory tree, and summarise a tree (file count, bytes, sample hashes)
//! to check a restore against its source.
//!
//! Peak RSS is read from `/proc/<pid>/status` (`VmHWM:`, the kernel's high-water mark) every
//! [`POLL_INTERVAL`] while the child runs; the last value read before it exits is kept. A child that
//! lives less than one interval may report a lower peak than it reached, and none off Linux.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How often the child's `/proc/<pid>/status` is read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Wall time and peak memory of one step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Step {
    pub secs: f64,
    /// Peak resident set size in bytes (`VmHWM`), when it could be read.
    pub peak_rss_bytes: Option<u64>,
}

/// A finished subprocess: its step figures and what it printed.
#[derive(Debug)]
pub struct Measured {
    pub step: Step,
    pub stdout: Vec<u8>,
}

/// `VmHWM` of a live process in bytes; `None` once it has exited or where /proc is missing.
fn read_vmhwm(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Writes the system's dirty page cache to disk (`sync`), so that a step does not pay for the
/// writeback of what earlier steps (or the other tool) left in memory. Best effort: without a
/// `sync` program the step just runs.
fn flush_dirty_data() {
    let _ = Command::new("sync")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Runs `cmd` to completion, timing it and sampling its peak RSS. Standard output is captured;
/// a failure (non-zero exit) is an error that quotes the end of its standard error.
pub fn run_measured(cmd: &mut Command) -> Result<Measured> {
    let what = describe(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    flush_dirty_data();
    let start = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {what}"))?;
    let pid = child.id();
    let mut out_pipe = child.stdout.take().context("no stdout pipe")?;
    let mut err_pipe = child.stderr.take().context("no stderr pipe")?;
    let (status, secs, peak, stdout, stderr) = std::thread::scope(|s| -> Result<_> {
        let out = s.spawn(move || {
            let mut v = Vec::new();
            out_pipe.read_to_end(&mut v).map(|_| v)
        });
        let err = s.spawn(move || {
            let mut v = Vec::new();
            err_pipe.read_to_end(&mut v).map(|_| v)
        });
        let mut peak = None;
        let status = loop {
            // Read before try_wait: a reaped child has no status file, and a zombie has no VmHWM,
            // so the last value read while it ran is kept.
            if let Some(v) = read_vmhwm(pid) {
                peak = Some(v);
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(POLL_INTERVAL),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(e).with_context(|| format!("waiting for {what}"));
                }
            }
        };
        let secs = start.elapsed().as_secs_f64();
        let join = |r: std::thread::Result<std::io::Result<Vec<u8>>>| -> Result<Vec<u8>> {
            match r {
                Ok(r) => r.with_context(|| format!("reading the output of {what}")),
                Err(_) => bail!("the thread reading the output of {what} panicked"),
            }
        };
        let stdout = join(out.join())?;
        let stderr = join(err.join())?;
        Ok((status, secs, peak, stdout, stderr))
    })?;
    if !status.success() {
        let text = String::from_utf8_lossy(&stderr);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        bail!("{what} failed ({status}):\n{tail}");
    }
    Ok(Measured {
        step: Step {
            secs,
            peak_rss_bytes: peak,
        },
        stdout,
    })
}

/// Every regular file under `root`: path relative to `root` -> size. Symlinks are not followed.
pub fn list_files(root: &Path) -> Result<BTreeMap<PathBuf, u64>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)
                .with_context(|| format!("reading metadata of {}", path.display()))?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .with_context(|| format!("{} is outside {}", path.display(), root.display()))?
                    .to_path_buf();
                out.insert(rel, meta.len());
            }
        }
    }
    Ok(out)
}

/// Sum of the sizes of the regular files under `root`.
pub fn dir_size(root: &Path) -> Result<u64> {
    Ok(list_files(root)?.values().sum())
}

/// Number of regular files under `root` (0 when it does not exist).
pub fn count_files(root: &Path) -> Result<usize> {
    if !root.exists() {
        return Ok(0);
    }
    Ok(list_files(root)?.len())
}

/// BLAKE3 of a file's contents, hex.
pub fn hash_file(path: &Path) -> Result<String> {
    let mut f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = blake3::Hasher::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("reading {}", path.display()))?;
    Ok(h.finalize().to_hex().to_string())
}

/// What a restore verification found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TreeCheck {
    /// Always true in a returned value: a mismatch is an error.
    pub verified: bool,
    pub files: usize,
    pub bytes: u64,
    /// Files whose contents were hashed on both sides.
    pub files_hashed: usize,
}

/// Compares `restored` with `source`: the same relative paths with the same sizes, and the same
/// contents for about `sample` files spread evenly over the sorted list plus every file whose name
/// is in `always_hash`. Returns an error that names the first differences.
pub fn compare_trees(
    source: &Path,
    restored: &Path,
    sample: usize,
    always_hash: &[&str],
) -> Result<TreeCheck> {
    let a = list_files(source)?;
    let b = list_files(restored)?;
    let mut problems = Vec::new();
    for (p, size) in &a {
        match b.get(p) {
            None => problems.push(format!("missing {}", p.display())),
            Some(s) if s != size => {
                problems.push(format!("{}: {s} bytes, expected {size}", p.display()))
            }
            Some(_) => {}
        }
    }
    for p in b.keys().filter(|p| !a.contains_key(*p)) {
        problems.push(format!("unexpected {}", p.display()));
    }
    let step = (a.len() / sample.max(1)).max(1);
    let mut hashed = 0;
    for (i, p) in a.keys().enumerate() {
        let named = p
            .file_name()
            .and_then(OsStr::to_str)
            .is_some_and(|n| always_hash.contains(&n));
        if (i % step != 0 && !named) || !b.contains_key(p) {
            continue;
        }
        hashed += 1;
        if hash_file(&source.join(p))? != hash_file(&restored.join(p))? {
            problems.push(format!("{}: contents differ", p.display()));
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        problems.truncate(10);
        bail!(
            "restored tree {} differs from {} in {n} ways:\n  {}",
            restored.display(),
            source.display(),
            problems.join("\n  ")
        );
    }
    Ok(TreeCheck {
        verified: true,
        files: a.len(),
        bytes: a.values().sum(),
        files_hashed: hashed,
    })
}

/// Median of `v` (mean of the middle two for an even count); `None` when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn measures_a_child_and_reports_failures() -> Result<()> {
        let m = run_measured(Command::new("sh").args(["-c", "echo hi; sleep 0.05"]))?;
        assert_eq!(m.stdout, b"hi\n");
        assert!(m.step.secs >= 0.05);
        if Path::new("/proc/self/status").exists() {
            assert!(m.step.peak_rss_bytes.is_some_and(|b| b > 0));
        }
        let err = run_measured(Command::new("sh").args(["-c", "echo oops >&2; exit 3"]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("oops") && err.contains("failed"), "{err}");
        Ok(())
    }

    #[test]
    fn tree_comparison() -> Result<()> {
        let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
        for d in [a.path(), b.path()] {
            fs::create_dir_all(d.join("x"))?;
            fs::write(d.join("x/one"), b"same")?;
            fs::write(d.join("two"), b"abcd")?;
        }
        let c = compare_trees(a.path(), b.path(), 100, &[])?;
        assert_eq!((c.files, c.bytes, c.files_hashed), (2, 8, 2));
        assert_eq!(dir_size(a.path())?, 8);
        fs::write(b.path().join("two"), b"abce")?;
        let err = compare_trees(a.path(), b.path(), 100, &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("two: contents differ"), "{err}");
        fs::remove_file(b.path().join("x/one"))?;
        assert!(compare_trees(a.path(), b.path(), 1, &[]).is_err());
        Ok(())
    }
}
