//! What a backup takes, as a restic user says it: `--files-from*`, exclude patterns with restic's
//! meaning (checked against restic itself on the same tree), `--exclude-file`, `--iexclude`,
//! `--exclude-caches`, `--exclude-if-present`, `--exclude-larger-than`, `-x`, kernel file
//! systems, `--dry-run`, `-v`, `--tag a,b`, `--stdin-from-command`, `--ignore-ctime`,
//! `--ignore-inode` and `--read-concurrency`.

use crate::util::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

/// A tree where patterns differ in meaning: the same names at several depths, case variants,
/// a cache directory, a marked directory, a large file.
fn build(src: &Path) {
    for d in [
        "a/foo/bar",
        "b/x/foo/bar",
        "foo/bar",
        "c/Cache",
        "d/e",
        "media",
    ] {
        write(&src.join(d).join("f.txt"), format!("{d}\n"));
    }
    write(&src.join("d/e/F.TXT"), "upper\n");
    write(&src.join("d/e/g.tmp"), "tmp\n");
    write(
        &src.join("cachedir/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    );
    write(&src.join("cachedir/blob"), "cached\n");
    write(&src.join("faketag/CACHEDIR.TAG"), "no signature\n");
    write(&src.join("faketag/kept"), "kept\n");
    write(&src.join("marked/.nobackup"), "");
    write(&src.join("marked/secret"), "secret\n");
    write(&src.join("headed/.keep-out"), "BACKUP: NO\nrest\n");
    write(&src.join("headed/inside"), "inside\n");
    write(&src.join("media/big.bin"), pseudo_random("big", 300 << 10));
}

/// The paths below `src` that `ls` of the latest snapshot prints, relative to `src`.
fn listed(lines: &str, src: &Path) -> BTreeSet<String> {
    let prefix = format!("{}/", src.display());
    lines
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

fn backstock_listing(env: &Env, src: &Path, flags: &[&str]) -> BTreeSet<String> {
    let mut args = vec!["backup", "-q", src.to_str().unwrap()];
    args.extend_from_slice(flags);
    env.ok(args);
    listed(&env.ok(["ls", "latest"]), src)
}

/// Each selection flag that restic has gives the same tree in both tools.
#[test]
#[ignore = "needs restic on PATH; CI runs it: .ci/run"]
fn exclusions_match_what_restic_excludes_on_the_same_tree() {
    assert!(
        which("restic").is_some(),
        "restic is not on PATH (.ci/run installs it)"
    );
    let env = Env::init();
    let src = env.path("src");
    build(&src);
    let abs_foo = format!("{}/foo", src.display());
    let excludes = env.path("excludes.txt");
    fs::write(&excludes, "# comment\n\n  *.tmp  \n$SRC_DIR/media\n").unwrap();
    let restic_repo = env.path("restic-repo");
    let restic = |args: &[&str]| {
        let out = Command::new("restic")
            .args(["-r", restic_repo.to_str().unwrap(), "--no-cache"])
            .args(args)
            .env("RESTIC_PASSWORD", "pw")
            .env("SRC_DIR", &src)
            .output()
            .expect("running restic");
        assert!(
            out.status.success(),
            "restic {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    restic(&["init"]);
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--exclude", "foo/bar"],
        vec!["--exclude", &abs_foo],
        vec!["--exclude", "src/foo"],
        vec!["--exclude", "*/foo"],
        vec!["--exclude", "cache"],
        vec!["--exclude", "*.txt"],
        vec!["--exclude", "e/*.txt"],
        vec!["--exclude", "**/e/f.txt"],
        vec!["--exclude", "d/"],
        vec!["--iexclude", "cache"],
        vec!["--iexclude", "*.txt"],
        vec!["--exclude-file", excludes.to_str().unwrap()],
        vec!["--exclude-caches"],
        vec!["--exclude-if-present", ".nobackup"],
        vec!["--exclude-if-present", ".keep-out:BACKUP: NO"],
        vec!["--exclude-if-present", ".keep-out:OTHER"],
        vec!["--exclude-larger-than", "100K"],
    ];
    for flags in cases {
        let mut args = vec!["backup", "-q", src.to_str().unwrap()];
        args.extend_from_slice(&flags);
        restic(&args);
        let theirs = listed(&restic(&["ls", "latest"]), &src);
        let mut cmd = env.cmd();
        cmd.env("SRC_DIR", &src)
            .args(["backup", "-q", src.to_str().unwrap()])
            .args(&flags);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{flags:?}: {out:?}");
        let ours = listed(&env.ok(["ls", "latest"]), &src);
        assert!(!theirs.is_empty(), "{flags:?}: restic kept nothing");
        assert_eq!(
            ours, theirs,
            "{flags:?}: backstock (left) and restic (right) differ"
        );
    }
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Without restic: the same flags give the expected trees (what the comparison above checks
/// against restic, written out).
#[test]
fn exclusion_flags_leave_out_what_they_name() {
    let env = Env::init();
    let src = env.path("src");
    build(&src);
    let all = backstock_listing(&env, &src, &[]);
    let without = |flags: &[&str]| -> BTreeSet<String> {
        let kept = backstock_listing(&env, &src, flags);
        all.difference(&kept).cloned().collect()
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        without(&["--exclude", "foo/bar"]),
        set(&[
            "a/foo/bar",
            "a/foo/bar/f.txt",
            "b/x/foo/bar",
            "b/x/foo/bar/f.txt",
            "foo/bar",
            "foo/bar/f.txt"
        ])
    );
    assert_eq!(
        without(&["--iexclude", "*.TMP", "--iexclude", "cache"]),
        set(&["c/Cache", "c/Cache/f.txt", "d/e/g.tmp"])
    );
    // As in restic, a marked directory is kept with its marker and nothing else.
    assert_eq!(without(&["--exclude-caches"]), set(&["cachedir/blob"]));
    assert_eq!(
        without(&["--exclude-if-present", ".keep-out:BACKUP: NO"]),
        set(&["headed/inside"])
    );
    assert_eq!(
        without(&["--exclude-if-present", ".nobackup"]),
        set(&["marked/secret"])
    );
    assert_eq!(
        without(&["--exclude-larger-than", "100K"]),
        set(&["media/big.bin"])
    );
    let file = env.path("patterns");
    fs::write(&file, "# the media\n$SRC_DIR/media\n\n*.tmp\n").unwrap();
    let mut cmd = env.cmd();
    cmd.env("SRC_DIR", &src).args([
        "backup",
        "-q",
        src.to_str().unwrap(),
        "--exclude-file",
        file.to_str().unwrap(),
    ]);
    assert!(cmd.output().unwrap().status.success());
    let kept = listed(&env.ok(["ls", "latest"]), &src);
    assert_eq!(
        all.difference(&kept).cloned().collect::<BTreeSet<_>>(),
        set(&["d/e/g.tmp", "media", "media/big.bin", "media/f.txt"])
    );
    let ifile = env.path("ipatterns");
    fs::write(&ifile, "CACHE\n*.TMP\n").unwrap();
    let kept = backstock_listing(&env, &src, &["--iexclude-file", ifile.to_str().unwrap()]);
    assert_eq!(
        all.difference(&kept).cloned().collect::<BTreeSet<_>>(),
        set(&["c/Cache", "c/Cache/f.txt", "d/e/g.tmp"])
    );
    let e = env.fails(
        1,
        [
            "backup",
            src.to_str().unwrap(),
            "--exclude-if-present",
            "a/b",
        ],
    );
    assert!(e.contains("give a file name"), "{e}");
}

#[test]
fn paths_from_lists_in_three_forms() {
    let env = Env::init();
    let src = env.path("src");
    for name in ["one.json", "two.json", "three.txt", "#hash", "new\nline"] {
        write(&src.join(name), name);
    }
    let s = src.display();
    let lists = env.path("lists");
    fs::create_dir(&lists).unwrap();
    // Comments, blank lines, a glob, a CRLF line.
    fs::write(
        lists.join("from"),
        format!("# the products\n\n{s}/*.json\n{s}/three.txt\r\n"),
    )
    .unwrap();
    fs::write(lists.join("verbatim"), format!("{s}/#hash\n")).unwrap();
    fs::write(lists.join("raw"), format!("{s}/new\nline\0")).unwrap();
    let id = env.backup(&[
        "--files-from",
        lists.join("from").to_str().unwrap(),
        "--files-from-verbatim",
        lists.join("verbatim").to_str().unwrap(),
        "--files-from-raw",
        lists.join("raw").to_str().unwrap(),
    ]);
    let snap = env.json(["cat", "snapshot", &id]);
    let mut paths: Vec<String> = snap["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_str()
                .unwrap()
                .trim_start_matches(&format!("{s}/"))
                .to_string()
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        ["#hash", "new\nline", "one.json", "three.txt", "two.json"]
    );
    let target = env.dir("target");
    env.restore("latest", &target, &[]);
    let inside = target.join(src.strip_prefix("/").unwrap());
    assert_eq!(fs::read(inside.join("new\nline")).unwrap(), b"new\nline");
    assert_eq!(fs::read(inside.join("#hash")).unwrap(), b"#hash");

    fs::write(lists.join("empty"), "# nothing\n").unwrap();
    let e = env.fails(
        1,
        [
            "backup",
            "--files-from",
            lists.join("empty").to_str().unwrap(),
        ],
    );
    assert!(e.contains("--files-from lists are empty"), "{e}");
}

#[test]
fn a_dry_run_writes_nothing_and_reports_what_a_backup_would_add() {
    let env = Env::init();
    let src = env.path("src");
    write(&src.join("catalog.json"), product_json("catalog", 200_000));
    write(&src.join("photo.jpg"), pseudo_random("photo", 1 << 20));
    let before = env.repo_contents();
    let dry = env.backup_json(&["--dry-run", src.to_str().unwrap()]);
    assert_eq!(
        env.repo_contents(),
        before,
        "a dry run changed the repository"
    );
    assert_eq!(dry["dry_run"], true);
    assert!(dry["snapshot_id"].is_null(), "{dry}");
    assert!(env.snapshots(&[]).is_empty());
    let out = env.ok(["backup", "-n", src.to_str().unwrap()]);
    assert!(out.contains("dry run: nothing was written"), "{out}");
    let real = env.backup_json(&[src.to_str().unwrap()]);
    for k in ["bytes_added", "blobs_added", "files_new"] {
        assert_eq!(dry["summary"][k], real["summary"][k], "{k}");
    }
    // Sealed sizes vary by a few bytes from run to run (compression and padding), not more.
    let stored = |v: &serde_json::Value| v["summary"]["bytes_added_stored"].as_u64().unwrap();
    assert!(
        stored(&dry).abs_diff(stored(&real)) < stored(&real) / 100,
        "{dry} {real}"
    );
    assert!(real["summary"]["bytes_added"].as_u64().unwrap() > 1 << 20);
}

#[test]
fn verbose_names_new_and_modified_files_and_vv_unchanged_ones() {
    let env = Env::init();
    let src = env.path("src");
    write(&src.join("a.json"), "{}\n");
    write(&src.join("b.json"), "[]\n");
    let s = src.to_str().unwrap();
    let err = |args: &[&str]| String::from_utf8(env.run(args).stderr).unwrap();
    let first = err(&["-v", "backup", s]);
    assert!(
        first.contains(&format!("new       {s}/a.json (3 B)")),
        "{first}"
    );
    write(&src.join("b.json"), "[1]\n");
    let second = err(&["-v", "backup", s]);
    assert!(
        second.contains(&format!("modified  {s}/b.json")),
        "{second}"
    );
    assert!(!second.contains("a.json"), "{second}");
    let third = err(&["-vv", "backup", s]);
    assert!(third.contains(&format!("unchanged {s}/a.json")), "{third}");
    assert!(!err(&["backup", s]).contains("a.json"));
}

#[test]
fn comma_separated_tags_are_separate_tags() {
    let env = Env::init();
    write(&env.path("src/f"), "f");
    let id = env.backup(&["--tag", "daily,shop", "--tag", "manual", "src"]);
    let snap = env.json(["cat", "snapshot", &id]);
    assert_eq!(snap["tags"], serde_json::json!(["daily", "shop", "manual"]));
}

#[test]
fn a_command_output_is_backed_up_and_a_failing_command_saves_nothing() {
    let env = Env::init();
    let id = env.backup(&[
        "--stdin-from-command",
        "--stdin-filename",
        "shop.sql",
        "--",
        "sh",
        "-c",
        "echo 'CREATE TABLE products;'; echo 'INSERT 1;'",
    ]);
    assert_eq!(
        env.ok_bytes(["dump", &id, "shop.sql"]),
        b"CREATE TABLE products;\nINSERT 1;\n"
    );
    let out = env.run([
        "backup",
        "--stdin-from-command",
        "--",
        "sh",
        "-c",
        "echo 'half a dump'; exit 3",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("sh failed (exit status: 3)"), "{stderr}");
    assert_eq!(env.snapshots(&[]).len(), 1, "a failed dump was saved");
    let e = env.fails(1, ["backup", "--stdin-from-command"]);
    assert!(e.contains("needs the command"), "{e}");
}

/// ctime changes alone (chmod to the same mode) make a file be read again unless
/// --ignore-ctime; a new inode with the same times unless --ignore-inode.
#[test]
fn ignore_ctime_and_ignore_inode_take_files_from_the_parent() {
    let env = Env::init();
    let src = env.path("src");
    let f = src.join("data.bin");
    write(&f, pseudo_random("data", 64 << 10));
    let s = src.to_str().unwrap();
    env.backup(&[s]);
    let read = |extra: &[&str]| {
        let mut a = vec![s];
        a.extend_from_slice(extra);
        env.backup_json(&a)["summary"]["bytes_read"]
            .as_u64()
            .unwrap()
    };
    let touch_ctime = || {
        let mode = fs::metadata(&f).unwrap().permissions();
        fs::set_permissions(&f, mode).unwrap();
    };
    std::thread::sleep(std::time::Duration::from_millis(20));
    touch_ctime();
    assert_eq!(read(&["--ignore-ctime"]), 0);
    touch_ctime();
    assert_eq!(read(&[]), 64 << 10);
    // Same content and times, another inode: as a restore from elsewhere or a FUSE mount gives.
    let copy = src.join("copy.tmp");
    fs::copy(&f, &copy).unwrap();
    let mtime = filetime::FileTime::from_last_modification_time(&fs::metadata(&f).unwrap());
    filetime::set_file_mtime(&copy, mtime).unwrap();
    fs::rename(&copy, &f).unwrap();
    assert_eq!(read(&["--ignore-inode"]), 0);
    fs::copy(&f, &copy).unwrap();
    filetime::set_file_mtime(&copy, mtime).unwrap();
    fs::rename(&copy, &f).unwrap();
    assert_eq!(read(&[]), 64 << 10);
    // One reading thread gives the same snapshot content.
    let one = env.backup_json(&["--read-concurrency", "1", "--force", s]);
    assert_eq!(one["summary"]["files_new"], 1);
    assert_eq!(one["summary"]["bytes_added"], 0);
}

/// `/dev` holds other file systems: `/dev/shm` (tmpfs, backed up unless `-x`) and `/dev/pts`
/// (devpts, a kernel file system, never backed up): both mount points are kept, empty.
#[test]
fn other_file_systems_with_x_and_kernel_file_systems_always_are_recorded_empty() {
    let env = Env::init();
    let shm = Path::new("/dev/shm");
    assert!(
        shm.is_dir(),
        "this test needs /dev/shm (a tmpfs below /dev)"
    );
    let mine = tempfile::Builder::new()
        .prefix("backstock-it-")
        .tempdir_in(shm)
        .unwrap();
    write(&mine.path().join("in-shm"), "x");
    let name = mine
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let all = env.backup_json(&["/dev"]);
    let ls = env.ls("latest");
    assert!(ls.contains(&format!("/dev/shm/{name}/in-shm")), "{ls:?}");
    assert!(ls.contains(&"/dev/pts".to_string()));
    assert!(!ls.iter().any(|l| l.starts_with("/dev/pts/")), "{ls:?}");
    let reasons: Vec<String> = all["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s["path"], s["reason"]))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("/dev/pts") && r.contains("devpts file system")),
        "{reasons:?}"
    );

    let x = env.backup_json(&["-x", "/dev"]);
    let ls = env.ls("latest");
    assert!(ls.contains(&"/dev/shm".to_string()), "{ls:?}");
    assert!(!ls.iter().any(|l| l.starts_with("/dev/shm/")), "{ls:?}");
    assert!(
        x["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["path"] == "/dev/shm"
                && s["reason"].as_str().unwrap().contains("--one-file-system")),
        "{x}"
    );
}
