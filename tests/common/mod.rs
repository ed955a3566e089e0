//! Shared helpers for the integration tests: a temporary repository driven through the built
//! `backstock` binary, generators for input trees, a tree comparison (content and metadata) and
//! helpers to inspect the raw repository files.
//!
//! Every command runs with its own repository, its own cache directory (`--cache-dir`), the password
//! in `BACKSTOCK_PASSWORD` and the working directory set to the test's temporary directory, so a
//! relative path such as `store` means `<tmp>/store`.

#![allow(dead_code)]

use assert_cmd::Command;
use filetime::FileTime;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
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
// Generating input trees

/// `len` pseudo-random bytes from BLAKE3's extendable output, seeded by `seed` (does not compress).
pub fn pseudo_random(seed: &str, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// Lower-case hex of pseudo-random bytes: text that compresses to about half.
pub fn pseudo_hex(seed: &str, len: usize) -> String {
    let mut s = hex::encode(pseudo_random(seed, len.div_ceil(2)));
    s.truncate(len);
    s
}

/// Writes a file, creating its parent directories.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets a file's or directory's mtime (and atime); for symlinks use `set_link_mtime`.
pub fn set_mtime(path: &Path, sec: i64, nsec: u32) {
    let t = FileTime::from_unix_time(sec, nsec);
    filetime::set_file_times(path, t, t).unwrap();
}

pub fn set_link_mtime(path: &Path, sec: i64, nsec: u32) {
    let t = FileTime::from_unix_time(sec, nsec);
    filetime::set_symlink_file_times(path, t, t).unwrap();
}

/// A JSON product document of roughly `len` bytes, varied by `seed`.
pub fn product_json(seed: &str, len: usize) -> String {
    let mut variants = Vec::new();
    let mut i = 0;
    let mut total = 0;
    while total < len {
        let sku = pseudo_hex(&format!("{seed}/sku/{i}"), 12);
        let price = u32::from_le_bytes(
            pseudo_random(&format!("{seed}/p/{i}"), 4)[..4]
                .try_into()
                .unwrap(),
        ) % 100_000;
        let v = format!(
            r#"{{"id":{i},"sku":"{sku}","price":{}.{:02},"title":"Variant {i} of {seed}","stock":{}}}"#,
            price / 100,
            price % 100,
            price % 97
        );
        total += v.len() + 1;
        variants.push(v);
        i += 1;
    }
    format!(
        "{{\"product\":\"{seed}\",\"variants\":[\n{}\n]}}\n",
        variants.join(",\n")
    )
}

/// A small store export used by several tests:
///
/// ```text
/// store/products/1.json .. 5.json    small JSON
/// store/products/images/1.jpg        fake JPEG (media class)
/// store/products.jsonl               ~600 KB JSON lines (several chunks)
/// store/theme/layout.liquid, theme/assets/app.css
/// store/cache/page.tmp, store/draft.tmp
/// store/orders.csv
/// ```
pub fn make_store(dir: &Path) {
    for i in 1..=5 {
        write(
            &dir.join(format!("products/{i}.json")),
            product_json(&format!("product-{i}"), 300 * i),
        );
    }
    let mut jpg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpg.extend(pseudo_random("jpeg", 40_000));
    write(&dir.join("products/images/1.jpg"), jpg);
    let lines: Vec<String> = (0..1500)
        .map(|i| product_json(&format!("line-{i}"), 300).replace('\n', ""))
        .collect();
    write(&dir.join("products.jsonl"), lines.join("\n"));
    write(
        &dir.join("theme/layout.liquid"),
        "<html>{{ content_for_layout }}</html>\n",
    );
    write(&dir.join("theme/assets/app.css"), "body { margin: 0 }\n");
    write(&dir.join("cache/page.tmp"), "temporary\n");
    write(&dir.join("draft.tmp"), "draft\n");
    write(&dir.join("orders.csv"), "id,total\n1,10.00\n2,20.00\n");
}

// ---------------------------------------------------------------------------------------------
// Comparing trees

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// What must survive a backup and restore: type, size, content, permission bits, owner (the tests'
/// own files, or any when run as root), mtime, link target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// File length; 0 for other types.
    pub size: u64,
    /// BLAKE3 of a file's content.
    pub hash: Option<String>,
    /// `st_mode & 0o7777`.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: (i64, i64),
    pub link: Option<Vec<u8>>,
}

/// The metadata of one path (not following symlinks).
pub fn entry(path: &Path) -> Entry {
    let m = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ft = m.file_type();
    let kind = if ft.is_file() {
        Kind::File
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_symlink() {
        Kind::Symlink
    } else {
        Kind::Other
    };
    Entry {
        kind,
        size: if kind == Kind::File { m.len() } else { 0 },
        hash: (kind == Kind::File).then(|| file_hash(path)),
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: (m.mtime(), m.mtime_nsec()),
        link: (kind == Kind::Symlink)
            .then(|| fs::read_link(path).unwrap().as_os_str().as_bytes().to_vec()),
    }
}

/// Hex BLAKE3 of a file's content.
pub fn file_hash(path: &Path) -> String {
    let f = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    blake3::Hasher::new()
        .update_reader(f)
        .unwrap()
        .finalize()
        .to_hex()
        .to_string()
}

/// Every path under `root` (root itself as the empty path) with its entry, by relative path bytes.
pub fn scan_tree(root: &Path) -> BTreeMap<Vec<u8>, Entry> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, rel: &Path, out: &mut BTreeMap<Vec<u8>, Entry>) {
        let p = root.join(rel);
        let e = entry(&p);
        let is_dir = e.kind == Kind::Dir;
        out.insert(rel.as_os_str().as_bytes().to_vec(), e);
        if is_dir {
            for d in fs::read_dir(&p).unwrap() {
                walk(root, &rel.join(d.unwrap().file_name()), out);
            }
        }
    }
    walk(root, Path::new(""), &mut out);
    out
}

/// Asserts that `actual` holds exactly the tree under `expected`: the same paths, types, sizes,
/// contents, permission bits, owners, mtimes (seconds and nanoseconds, directories included) and link
/// targets.
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    let a = scan_tree(expected);
    let b = scan_tree(actual);
    let mut problems = Vec::new();
    for (path, ea) in &a {
        let shown = String::from_utf8_lossy(path);
        match b.get(path) {
            None => problems.push(format!("missing: {shown:?}")),
            Some(eb) if eb != ea => problems.push(format!(
                "differs: {shown:?}\n  expected {ea:?}\n  restored {eb:?}"
            )),
            Some(_) => {}
        }
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        problems.push(format!("unexpected: {:?}", String::from_utf8_lossy(path)));
    }
    assert!(
        problems.is_empty(),
        "{} differs from {} ({} problems):\n{}",
        actual.display(),
        expected.display(),
        problems.len(),
        problems.join("\n")
    );
}

/// Relative paths (lossy UTF-8) of everything under `root`, without the root itself.
pub fn rel_paths(root: &Path) -> BTreeSet<String> {
    scan_tree(root)
        .into_keys()
        .filter(|k| !k.is_empty())
        .map(|k| String::from_utf8_lossy(&k).into_owned())
        .collect()
}

/// The names directly inside `dir`, sorted.
pub fn top_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every regular file under `dir`, recursively (empty if it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            out.extend(files_under(&e.path()));
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Searching raw bytes

/// The first needle found in `hay` (needles may have different lengths), with its offset.
pub fn find_any<'n>(hay: &[u8], needles: &'n [Vec<u8>]) -> Option<(&'n [u8], usize)> {
    let mut by_len: BTreeMap<usize, HashSet<&[u8]>> = BTreeMap::new();
    for n in needles {
        assert!(!n.is_empty());
        by_len.entry(n.len()).or_default().insert(n);
    }
    for (len, set) in by_len {
        if let Some((off, w)) = hay.windows(len).enumerate().find(|(_, w)| set.contains(w)) {
            let n = needles.iter().find(|n| n.as_slice() == w).unwrap();
            return Some((n, off));
        }
    }
    None
}

/// Copies a directory tree (regular files and directories).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Flips one byte of a file in place.
pub fn flip_byte(path: &Path, offset: u64) {
    chmod(path, 0o644);
    let mut b = fs::read(path).unwrap();
    b[offset as usize] ^= 0x5A;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.write_all(&b).unwrap();
}

/// Whether the tests run as root (where permission bits do not stop reads).
pub fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
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

/// Writes a snapshot made with the library, for trees no file system walk produces (foreign
/// owners, hostile nesting): `build` stores blobs with the saver and returns the root's nodes.
/// Returns the snapshot's ID.
pub fn write_snapshot(
    env: &Env,
    build: impl FnOnce(&backstock::repository::saver::BlobSaver) -> Vec<backstock::format::tree::Node>,
) -> String {
    use backstock::repository::{OpenOptions, Repository};
    let backend = std::sync::Arc::new(backstock::backend::LocalBackend::new(&env.repo));
    let opts = OpenOptions {
        no_cache: true,
        ..Default::default()
    };
    let mut repo = Repository::open(backend, PASSWORD.as_bytes(), &opts).unwrap();
    let lock = repo
        .lock(backstock::repository::lock::LockKind::Append)
        .unwrap();
    repo.load_index(&lock).unwrap();
    let saver = backstock::repository::saver::BlobSaver::new(&repo).unwrap();
    let mut nodes = build(&saver);
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let tree = saver.save_tree(&nodes, true).unwrap()[0];
    saver.finish().unwrap();
    let snap = backstock::format::snapshot::Snapshot {
        version: backstock::format::snapshot::VERSION,
        time: chrono::Local::now().fixed_offset(),
        hostname: "crafted".into(),
        username: "crafted".into(),
        paths: vec!["crafted".into()],
        tags: vec![],
        tree,
        parent: None,
        program_version: "test".into(),
        summary: Default::default(),
    };
    repo.save_snapshot(&snap).unwrap().to_hex()
}

/// A node of `kind` named `name` with mode, owner and mtime; content, size and link target empty.
pub fn bare_node(
    name: &str,
    kind: backstock::format::tree::NodeKind,
    mode: u32,
    uid: u32,
    gid: u32,
) -> backstock::format::tree::Node {
    backstock::format::tree::Node {
        name: name.as_bytes().to_vec(),
        kind,
        mode,
        uid,
        gid,
        mtime: backstock::format::tree::Timestamp {
            sec: 1_600_000_000,
            nsec: 0,
        },
        ctime: Default::default(),
        inode: 0,
        device: 0,
        size: 0,
        content: vec![],
        link_target: vec![],
    }
}

/// A file node holding `data` (stored as one blob).
pub fn file_node(
    saver: &backstock::repository::saver::BlobSaver,
    name: &str,
    data: &[u8],
    mode: u32,
    uid: u32,
    gid: u32,
) -> backstock::format::tree::Node {
    let mut n = bare_node(
        name,
        backstock::format::tree::NodeKind::File,
        mode,
        uid,
        gid,
    );
    if !data.is_empty() {
        let (id, _) = saver
            .save(backstock::format::blob_entry::BlobType::Data, data, true)
            .unwrap();
        n.content = vec![id];
    }
    n.size = data.len() as u64;
    n
}
