//! Shared helpers for the integration tests: a temporary repository driven through the built
//! `backstock` binary, generators for input trees, a tree comparison (content and metadata) and
//! helpers to inspect the raw repository files.
//!
//! Every command runs with its own repository, its own cache directory (`--cache-dir`), the password
//! in `BACKSTOCK_PASSWORD` and the working directory set to the test's temporary directory, so a
//! relative path such as `store` means `<tmp>/store`.

#![allow(dead_code)]

mod compare;
mod crafted;
pub mod faulty;
mod gen;
mod proxy;
mod raw;
mod s3_server;

pub use compare::*;
pub use crafted::*;
pub use gen::*;
pub use proxy::*;
pub use raw::*;
pub use s3_server::S3Server;

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

pub const PASSWORD: &str = "integration-test-password";

/// A temporary directory holding a repository (`repo/`), a cache (`cache/`) and the test's inputs.
pub struct Env {
    _tmp: tempfile::TempDir,
    /// Working directory of every command.
    pub root: PathBuf,
    pub repo: PathBuf,
    pub cache: PathBuf,
    caches: usize,
}

impl Env {
    /// A temporary directory with no repository yet.
    pub fn new() -> Env {
        let tmp = tempfile::Builder::new()
            .prefix("backstock-it-")
            .tempdir()
            .expect("creating a temporary directory");
        let root = tmp.path().to_path_buf();
        let cache = root.join("cache");
        fs::create_dir(&cache).unwrap();
        Env {
            repo: root.join("repo"),
            root,
            cache,
            _tmp: tmp,
            caches: 0,
        }
    }

    /// A temporary directory with a freshly initialised repository.
    pub fn init() -> Env {
        let env = Env::new();
        env.ok(["init"]);
        assert!(env.repo.join("config").is_file(), "init wrote no config");
        env
    }

    /// `<tmp>/rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The path `<tmp>/name`, which must not exist yet (a restore target; restore creates it).
    pub fn dir(&self, name: &str) -> PathBuf {
        let p = self.root.join(name);
        assert!(!p.exists(), "{} already exists", p.display());
        p
    }

    /// Switches the following commands to a new, empty cache directory, as on another machine.
    pub fn fresh_cache(&mut self) {
        self.caches += 1;
        self.cache = self.root.join(format!("cache-{}", self.caches));
        fs::create_dir(&self.cache).unwrap();
    }

    /// The binary with password, repository and cache set; no arguments yet.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// [`Self::cmd`] as a `std::process::Command`, for tests that drive the child's pipes.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("backstock"));
        c.current_dir(&self.root)
            .env_remove("BACKSTOCK_PASSWORD_FILE")
            .env_remove("BACKSTOCK_PASSWORD_COMMAND")
            .env_remove("BACKSTOCK_REPOSITORY_FILE")
            .env_remove("BACKSTOCK_FROM_REPOSITORY_FILE")
            .env_remove("BACKSTOCK_FROM_PASSWORD_COMMAND")
            .env_remove("BACKSTOCK_PROFILE")
            .env_remove("BACKSTOCK_KEY_HINT")
            .env_remove("BACKSTOCK_JSON")
            .env_remove("BACKSTOCK_QUIET")
            .env_remove("BACKSTOCK_NO_LOCK")
            .env_remove("BACKSTOCK_NO_CACHE")
            .env_remove("BACKSTOCK_CACHE_DIR")
            .env_remove("BACKSTOCK_TIMEOUT")
            .env_remove("BACKSTOCK_RETRY_LOCK")
            .env_remove("BACKSTOCK_LIMIT_UPLOAD")
            .env_remove("BACKSTOCK_LIMIT_DOWNLOAD")
            .env_remove("SHOPIFY_ACCESS_TOKEN")
            .env("BACKSTOCK_PASSWORD", PASSWORD)
            .env("BACKSTOCK_REPOSITORY", &self.repo)
            .env("XDG_CACHE_HOME", self.root.join("xdg-cache"))
            .arg("--cache-dir")
            .arg(&self.cache);
        c
    }

    /// Runs the binary with `args` and returns its output, whatever the exit code.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd().args(args).output().expect("running backstock")
    }

    /// Runs with `args` and standard input `input`.
    pub fn run_stdin<I, S>(&self, args: I, input: &[u8]) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd()
            .args(args)
            .write_stdin(input.to_vec())
            .output()
            .expect("running backstock")
    }

    /// Runs with standard input `input`, asserts exit 0 and returns standard output as text.
    pub fn ok_stdin<I, S>(&self, args: I, input: &[u8]) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args = os_args(args);
        let out = self.run_stdin(&args, input);
        expect_code(&out, 0, &args);
        String::from_utf8(out.stdout).expect("stdout is UTF-8")
    }

    /// Runs, asserts exit 0 and returns standard output as text.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        String::from_utf8(self.ok_bytes(args)).expect("stdout is UTF-8")
    }

    /// Runs, asserts exit 0 and returns standard output as bytes.
    pub fn ok_bytes<I, S>(&self, args: I) -> Vec<u8>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args = os_args(args);
        let out = self.run(&args);
        expect_code(&out, 0, &args);
        out.stdout
    }

    /// Runs, asserts exit `code` (without a panic) and returns standard error as text.
    pub fn fails<I, S>(&self, code: i32, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args = os_args(args);
        let out = self.run(&args);
        expect_code(&out, code, &args);
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Runs and parses standard output as JSON (exit 0 required).
    pub fn json<I, S>(&self, args: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
    }

    /// `backup --json ARGS`; asserts exit 0 and returns the new snapshot's full ID.
    pub fn backup(&self, args: &[&str]) -> String {
        self.backup_json(args)["snapshot_id"]
            .as_str()
            .expect("backup --json prints snapshot_id")
            .to_string()
    }

    /// `backup --json ARGS`; asserts exit 0 and returns the whole JSON report.
    pub fn backup_json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json", "backup"];
        a.extend_from_slice(args);
        self.json(a)
    }

    /// `snapshots --json FILTER`.
    pub fn snapshots(&self, filter: &[&str]) -> Vec<Value> {
        let mut a = vec!["--json", "snapshots"];
        a.extend_from_slice(filter);
        match self.json(a) {
            Value::Array(v) => v,
            other => panic!("snapshots --json is not an array: {other}"),
        }
    }

    /// `restore SPEC --target TARGET EXTRA...`, asserting success.
    pub fn restore(&self, spec: &str, target: &Path, extra: &[&str]) {
        let mut a: Vec<OsString> = vec!["restore".into(), spec.into(), "--target".into()];
        a.push(target.into());
        a.extend(extra.iter().map(OsString::from));
        self.ok(a);
    }

    /// `ls SPEC` as a list of lines.
    pub fn ls(&self, spec: &str) -> Vec<String> {
        self.ok(["ls", spec]).lines().map(str::to_string).collect()
    }

    /// The nodes of a tree blob, from `cat tree ID`.
    pub fn tree_nodes(&self, tree: &str) -> Vec<Value> {
        match self.json(["cat", "tree", tree]) {
            Value::Array(v) => v,
            other => panic!("cat tree is not an array: {other}"),
        }
    }

    /// The node at `path` (components separated by '/') of a snapshot, walking `cat tree`.
    pub fn node(&self, snapshot: &str, path: &str) -> Value {
        let snap = self.json(["cat", "snapshot", snapshot]);
        let mut trees = vec![snap["tree"].as_str().unwrap().to_string()];
        let mut found = None;
        for comp in path.split('/') {
            let nodes: Vec<Value> = trees.iter().flat_map(|t| self.tree_nodes(t)).collect();
            let n = nodes
                .into_iter()
                .find(|n| n["name"] == comp)
                .unwrap_or_else(|| panic!("{path}: no {comp:?} in the snapshot"));
            trees = ids(&n["content"]);
            found = Some(n);
        }
        found.expect("empty path")
    }

    /// Every regular file under the repository.
    pub fn repo_files(&self) -> Vec<PathBuf> {
        files_under(&self.repo)
    }

    /// Total size of all repository files.
    pub fn repo_size(&self) -> u64 {
        self.repo_files()
            .iter()
            .map(|p| fs::metadata(p).unwrap().len())
            .sum()
    }

    /// Names of the files in a repository directory (`index`, `snapshots`, `keys`).
    pub fn names_in(&self, dir: &str) -> Vec<String> {
        let mut v: Vec<String> = files_under(&self.repo.join(dir))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            // A file still being written (or left by a killed writer) is not a repository file.
            .filter(|n| !n.starts_with(".tmp-"))
            .collect();
        v.sort();
        v
    }

    /// Every pack as `(path, cat pack JSON)`.
    pub fn packs(&self) -> Vec<(PathBuf, Value)> {
        files_under(&self.repo.join("data"))
            .into_iter()
            .map(|p| {
                let id = p.file_name().unwrap().to_string_lossy().into_owned();
                let info = self.json(["cat", "pack", &id]);
                (p, info)
            })
            .collect()
    }

    /// The pack holding a blob and that blob's entry.
    pub fn find_blob(&self, blob: &str) -> (PathBuf, Value) {
        for (path, info) in self.packs() {
            if let Some(e) = info["blobs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["id"] == blob)
            {
                return (path, e.clone());
            }
        }
        panic!("blob {blob} is in no pack");
    }

    /// Every repository file's path and bytes, as a map (to check that something left it untouched).
    pub fn repo_contents(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        self.repo_files()
            .into_iter()
            .map(|p| {
                let b = fs::read(&p).unwrap();
                (p, b)
            })
            .collect()
    }
}

fn os_args<I, S>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    args.into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect()
}

/// Runs a prepared command (e.g. `env.cmd()` with another password), asserts exit `code` without a
/// panic and returns the output.
pub fn exit_with(cmd: &mut Command, code: i32) -> Output {
    let out = cmd.output().expect("running backstock");
    expect_code(&out, code, &[]);
    out
}

/// Asserts an exit code, and that the process did not panic; prints the output otherwise.
pub fn expect_code(out: &Output, code: i32, args: &[OsString]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "backstock {args:?}: expected exit {code}\n--- stdout\n{}\n--- stderr\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_no_panic(&stderr);
}

pub fn assert_no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "backstock panicked:\n{stderr}"
    );
}

/// The list of hex IDs in a JSON array.
pub fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

pub fn is_hex_id(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

// ---------------------------------------------------------------------------------------------
// Snapshots written with the library, and commands run through a wrapper

impl Env {
    /// [`Env::std_cmd`] run through a wrapper command (such as `setpriv --reuid=65534 ...`), which
    /// gets the binary's path and then the arguments; the environment is the same.
    pub fn std_cmd_via(&self, wrapper: &[&str]) -> std::process::Command {
        let plain = self.std_cmd();
        let mut c = std::process::Command::new(wrapper[0]);
        c.args(&wrapper[1..])
            .arg(plain.get_program())
            .args(plain.get_args());
        for (k, v) in plain.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(d) = plain.get_current_dir() {
            c.current_dir(d);
        }
        c
    }
}

/// Runs `backstock` as `nobody` when the tests run as root (chown to another owner then fails, as
/// for any unprivileged user), as the current user otherwise.
pub fn run_unprivileged(env: &Env, args: &[std::ffi::OsString]) -> std::process::Output {
    if !is_root() {
        return env.run(args);
    }
    // nobody must reach the repository, write its lock and cache, and write the target.
    fn chown_all(p: &Path) {
        std::os::unix::fs::lchown(p, Some(65534), Some(65534)).unwrap();
        if fs::symlink_metadata(p).unwrap().is_dir() {
            for e in fs::read_dir(p).unwrap() {
                chown_all(&e.unwrap().path());
            }
        }
    }
    chown_all(&env.root);
    env.std_cmd_via(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ])
    .args(args)
    .output()
    .expect("running backstock through setpriv")
}
