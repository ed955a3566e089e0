//! Lists read from files, as restic reads them: the paths of `backup --files-from`,
//! `--files-from-verbatim` and `--files-from-raw`, and the patterns of `--exclude-file` and
//! `--iexclude-file`. `-` reads standard input.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

fn read(file: &Path, what: &str) -> Result<Vec<u8>> {
    if file == Path::new("-") {
        let mut v = Vec::new();
        std::io::stdin()
            .read_to_end(&mut v)
            .with_context(|| format!("reading {what} from standard input"))?;
        return Ok(v);
    }
    std::fs::read(file).with_context(|| format!("reading {what} {}", file.display()))
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// `--files-from`: one path per line; empty lines and lines starting with `#` are skipped, and
/// glob patterns are expanded (a pattern matching nothing is a warning, as in restic).
pub fn files_from(file: &Path) -> Result<Vec<PathBuf>> {
    let bytes = read(file, "--files-from")?;
    let mut out = Vec::new();
    for line in lines(&bytes) {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            // Not UTF-8: no pattern to expand, taken as it is.
            out.push(PathBuf::from(OsString::from_vec(line.to_vec())));
            continue;
        };
        if !text.contains(['*', '?', '[']) {
            out.push(PathBuf::from(text));
            continue;
        }
        let matched: Vec<PathBuf> = glob::glob(text)
            .with_context(|| format!("--files-from {}: pattern {text:?}", file.display()))?
            .filter_map(|p| p.ok())
            .collect();
        if matched.is_empty() {
            eprintln!(
                "warning: --files-from {}: {text:?} matches nothing",
                file.display()
            );
        }
        out.extend(matched);
    }
    Ok(out)
}

/// `--files-from-verbatim`: one path per line, exactly as written (empty lines skipped).
pub fn files_from_verbatim(file: &Path) -> Result<Vec<PathBuf>> {
    let bytes = read(file, "--files-from-verbatim")?;
    Ok(lines(&bytes)
        .filter(|l| !l.is_empty())
        .map(|l| PathBuf::from(OsString::from_vec(l.to_vec())))
        .collect())
}

/// `--files-from-raw`: paths separated by NUL bytes (`find -print0`).
pub fn files_from_raw(file: &Path) -> Result<Vec<PathBuf>> {
    let bytes = read(file, "--files-from-raw")?;
    Ok(bytes
        .split(|&b| b == 0)
        .filter(|l| !l.is_empty())
        .map(|l| PathBuf::from(OsString::from_vec(l.to_vec())))
        .collect())
}

/// `--exclude-file`, `--iexclude-file`: one pattern per line, trimmed; empty lines and `#`
/// comments skipped; `$VAR` and `${VAR}` replaced by the environment's value (empty if unset).
pub fn patterns_from(file: &Path) -> Result<Vec<String>> {
    let bytes = read(file, "exclude file")?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("exclude file {} is not UTF-8", file.display()))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(expand_env(line, |k| std::env::var(k).ok())?);
    }
    Ok(out)
}

/// Replaces `$NAME` and `${NAME}` (NAME: letters, digits, `_`) with `var(NAME)`; a `$` followed by
/// anything else stays.
fn expand_env(s: &str, var: impl Fn(&str) -> Option<String>) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => bail!("pattern {s:?}: \"${{\" without a closing \"}}\""),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(&var(name).unwrap_or_default());
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_in_patterns() {
        let var = |k: &str| (k == "HOME").then(|| "/home/u".to_string());
        assert_eq!(expand_env("$HOME/.cache", var).unwrap(), "/home/u/.cache");
        assert_eq!(expand_env("${HOME}x/$NOPE/y", var).unwrap(), "/home/ux//y");
        assert_eq!(expand_env("a$", var).unwrap(), "a$");
        assert_eq!(expand_env("$-x", var).unwrap(), "$-x");
        assert!(expand_env("${HOME", var).is_err());
    }
}
