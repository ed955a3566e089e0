//! Backup then restore through the binary: contents and metadata come back identical.

use crate::util::*;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{lchown, symlink};
use std::path::Path;

const BIG: usize = 50 << 20;

/// Names that break naive code: spaces, quotes, '#', emoji, a leading dash, a newline, glob
/// characters, a backslash, bytes that are not UTF-8, and names of about 200 bytes.
fn odd_names() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "name with  spaces.txt",
        "double\"quote and 'single'.json",
        "#hash#.txt",
        "emoji 🎉☕ café.json",
        "-leading-dash",
        "--looks-like-an-option",
        "new\nline.txt",
        "star*[q]?{a,b}.txt",
        "back\\slash",
        ".hidden",
        "日本語のファイル名.txt",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push(b"not-utf8-\xff\xfe-\xe9.bin".to_vec());
    v.push(format!("long-{}", "x".repeat(195)).into_bytes());
    v.push(format!("long-emoji-{}", "🎉".repeat(47)).into_bytes());
    assert!(v.iter().all(|n| n.len() <= 255));
    v
}

/// The tree of the first required test: empty files and directories, a 0-byte and a 50 MB
/// incompressible file, symlinks (relative, to a directory, absolute, dangling), odd names, modes,
/// and mtimes with and without nanoseconds (one before 1970, one after 2100).
fn build_tree(d: &Path) {
    write(&d.join("empty.txt"), "");
    write(&d.join("zero/also-empty"), "");
    fs::create_dir_all(d.join("empty dir")).unwrap();
    fs::create_dir_all(d.join("nested/empty/deeper")).unwrap();
    write(&d.join("media/big.bin"), pseudo_random("big file", BIG));
    write(&d.join("products/1.json"), product_json("one", 2_000));
    write(&d.join("products/2.json"), product_json("two", 100_000));
    // Text larger than the 4 MiB read-whole limit: streamed through the text chunker.
    write(&d.join("products/all.json"), product_json("all", 9 << 20));
    // The same content in several files, and one file repeating a block (shared chunks).
    write(&d.join("dup/a.json"), product_json("two", 100_000));
    write(&d.join("dup/b.json"), product_json("two", 100_000));
    write(
        &d.join("dup/repeated.bin"),
        pseudo_random("block", 3 << 20).repeat(3),
    );
    for (i, name) in odd_names().iter().enumerate() {
        let name = std::ffi::OsStr::from_bytes(name);
        write(&d.join("odd").join(name), format!("odd file {i}\n"));
    }
    fs::create_dir_all(d.join("odd/dir with 🎉 and #")).unwrap();
    write(&d.join("odd/dir with 🎉 and #/inner \"file\""), "inner");

    symlink("products/1.json", d.join("link-rel")).unwrap();
    fs::create_dir_all(d.join("links")).unwrap();
    symlink("../products", d.join("links/to-dir")).unwrap();
    symlink("does/not/exist", d.join("links/dangling")).unwrap();
    symlink("/nonexistent/absolute target", d.join("links/abs-dangling")).unwrap();
    symlink("🎉 odd target with spaces", d.join("links/odd-target")).unwrap();

    write(&d.join("modes/secret.txt"), "0600\n");
    write(&d.join("modes/run.sh"), "#!/bin/sh\necho hi\n");
    write(&d.join("modes/readonly.txt"), "0444\n");
    write(&d.join("modes/private/inside.txt"), "in a 0700 dir\n");
    write(&d.join("modes/setuid"), "setuid\n");
    write(&d.join("modes/setgid/in.txt"), "in a setgid dir\n");
    fs::create_dir_all(d.join("modes/sticky")).unwrap();
    chmod(&d.join("modes/secret.txt"), 0o600);
    chmod(&d.join("modes/run.sh"), 0o755);
    chmod(&d.join("modes/readonly.txt"), 0o444);
    chmod(&d.join("modes/private"), 0o700);
    chmod(&d.join("modes/sticky"), 0o1777);
    chmod(&d.join("modes/setuid"), 0o4755);
    chmod(&d.join("modes/setgid"), 0o2750);
    if is_root() {
        // Ownership is restored when running as root.
        lchown(d.join("modes/secret.txt"), Some(1234), Some(5678)).unwrap();
        lchown(d.join("modes/private"), Some(4321), Some(8765)).unwrap();
        lchown(d.join("link-rel"), Some(1111), Some(2222)).unwrap();
    }

    // Distinct mtimes everywhere; directories last so creating children does not change them.
    let mut paths: Vec<_> = scan_tree(d).into_keys().collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.iter().filter(|&&b| b == b'/').count()));
    for (i, rel) in paths.iter().enumerate() {
        let p = d.join(std::ffi::OsStr::from_bytes(rel));
        let i = i as i64;
        let (sec, nsec) = match i % 4 {
            0 => (1_500_000_000 + i * 3_600, 0),
            1 => (1_600_000_000 + i, (i * 123_456_789 % 1_000_000_000) as u32),
            2 => (1_700_000_000 - i * 86_400, 999_999_999),
            _ => (1_234_567_890, 1),
        };
        if fs::symlink_metadata(&p).unwrap().file_type().is_symlink() {
            set_link_mtime(&p, sec, nsec);
        } else {
            set_mtime(&p, sec, nsec);
        }
    }
    set_mtime(&d.join("products/1.json"), -1_000_000, 500);
    set_mtime(&d.join("products/2.json"), 4_200_000_000, 42);
}

#[test]
fn restore_is_byte_and_metadata_identical() {
    let env = Env::init();
    let store = env.path("store");
    build_tree(&store);
    env.backup(&["store"]);
    let target = env.dir("restored");
    env.restore("latest", &target, &[]);
    assert_eq!(top_names(&target), ["store"]);
    assert_same_tree(&store, &target.join("store"));

    // The same from a second machine: no cache, nothing but the repository.
    let mut env = env;
    env.fresh_cache();
    let again = env.dir("restored-again");
    env.restore("latest:store", &again, &["--no-cache"]);
    assert_same_tree(&store, &again);
}

#[test]
fn absolute_path_keeps_its_components() {
    let env = Env::init();
    let abs = env.path("abs/dir");
    write(&abs.join("file.json"), product_json("abs", 5_000));
    write(&abs.join("sub/other.txt"), "other\n");
    set_mtime(&abs.join("file.json"), 1_650_000_000, 123);
    let abs_str = abs.to_str().unwrap();
    assert!(abs.is_absolute());
    env.backup(&[abs_str]);

    let listed = env.ls("latest");
    // Every ancestor of the path appears, each with its leading '/', e.g. /tmp, /tmp/backstock-it-x, ...
    let mut prefix = String::new();
    for comp in abs_str.trim_start_matches('/').split('/') {
        prefix = format!("{prefix}/{comp}");
        assert!(
            listed.contains(&prefix),
            "ls latest lacks {prefix}:\n{listed:#?}"
        );
    }
    assert!(
        listed.contains(&format!("{abs_str}/file.json")),
        "{listed:#?}"
    );
    assert!(
        listed.contains(&format!("{abs_str}/sub/other.txt")),
        "{listed:#?}"
    );
    assert!(listed.iter().all(|l| l.starts_with('/')), "{listed:#?}");

    let snaps = env.snapshots(&[]);
    assert_eq!(snaps[0]["paths"], serde_json::json!([abs_str]));

    let target = env.dir("restored");
    env.restore("latest", &target, &[]);
    let restored = target.join(abs_str.trim_start_matches('/'));
    assert_same_tree(&abs, &restored);
}
