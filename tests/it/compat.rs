//! Format compatibility: repositories written by earlier versions and committed under
//! `tests/fixtures/` (see its README: never regenerate them) open with this binary, list their
//! snapshots, restore byte-identical to their manifests and pass `check --read-data`.

use crate::util::{copy_dir, files_under, Env};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The manifest's files of each snapshot, by tag: path in the snapshot -> hex SHA-256.
pub(crate) fn manifest(name: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.manifest"))).unwrap();
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut tag = None;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        if let Some(t) = line.strip_prefix("snapshot ") {
            tag = Some(t.to_string());
            out.entry(t.to_string()).or_default();
        } else {
            let (hash, path) = line.split_once("  ").expect("<sha256>  <path>");
            let tag = tag
                .clone()
                .expect("a file line before any 'snapshot TAG' line");
            out.get_mut(&tag)
                .unwrap()
                .insert(path.to_string(), hash.to_string());
        }
    }
    out
}

/// Every regular file under `root`, by relative path, with the hex SHA-256 of its content.
pub(crate) fn hashed_files(root: &Path) -> BTreeMap<String, String> {
    files_under(root)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            (rel, hex::encode(Sha256::digest(std::fs::read(&p).unwrap())))
        })
        .collect()
}

/// Opens a copy of the fixture `name` (committed files are never opened in place: a command may
/// write lock or cache files), whose config must have `version`; restores every snapshot.
fn open_fixture(name: &str, version: u64) {
    let committed = fixtures().join(name);
    let before = hashed_files(&committed);
    assert!(!before.is_empty(), "{} is empty", committed.display());
    let env = Env::new();
    copy_dir(&committed, &env.repo);
    let password = fixtures().join(format!("{name}.password"));
    let run = |args: &[&str]| -> String {
        let out = env
            .cmd()
            .arg("--password-file")
            .arg(&password)
            .args(args)
            .output()
            .unwrap();
        crate::util::expect_code(&out, 0, &[]);
        String::from_utf8(out.stdout).unwrap()
    };
    let json = |args: &[&str]| -> Value { serde_json::from_str(&run(args)).unwrap() };

    assert_eq!(json(&["--json", "cat", "config"])["version"], version);
    let expected = manifest(name);
    let snapshots = json(&["--json", "snapshots"]);
    let snapshots = snapshots.as_array().unwrap();
    let tags: Vec<&str> = snapshots
        .iter()
        .map(|s| s["tags"][0].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["first", "second"], "{name}: snapshots");
    for snap in snapshots {
        let tag = snap["tags"][0].as_str().unwrap();
        assert_eq!(snap["hostname"], "fixture");
        let target = env.path(&format!("restore-{tag}"));
        run(&[
            "restore",
            snap["id"].as_str().unwrap(),
            "--target",
            target.to_str().unwrap(),
        ]);
        assert_eq!(
            hashed_files(&target),
            expected[tag],
            "{name}: snapshot {tag} does not restore to its manifest"
        );
    }
    let checked = run(&["check", "--read-data"]);
    assert!(
        checked.contains("no errors were found"),
        "{name}: {checked}"
    );
    assert_eq!(
        hashed_files(&committed),
        before,
        "the committed fixture {name} changed"
    );
}

#[test]
fn a_version_2_repository_opens_restores_and_checks() {
    open_fixture("repo-v2", 2);
}

#[test]
fn a_version_1_repository_opens_restores_and_checks() {
    open_fixture("repo-v1", 1);
}
