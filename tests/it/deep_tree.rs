//! A snapshot whose directories nest 100,000 deep (written by a key holder with the library, as a
//! hostile or broken writer could) makes no command overflow its stack (issue 8, point 23): each one
//! finishes or stops with an error that says what is wrong, and restore restores what it can.

use crate::util::*;
use backstock::format::tree::NodeKind;

#[test]
fn a_very_deep_tree_crashes_no_command() {
    let env = Env::init();
    write(&env.path("data/a.txt"), b"a normal snapshot beside it");
    let normal = env.backup(&["data"]);
    let deep = write_snapshot(&env, |s| {
        let mut nodes = vec![file_node(s, "leaf", b"at the bottom\n", 0o644, 0, 0)];
        for _ in 0..100_000 {
            let mut d = bare_node("d", NodeKind::Dir, 0o755, 0, 0);
            d.content = s.save_tree(&nodes, false).unwrap();
            nodes = vec![d];
        }
        nodes
    });
    for args in [
        vec!["ls", deep.as_str()],
        vec!["find", "leaf"],
        vec!["diff", normal.as_str(), deep.as_str()],
        vec!["stats", deep.as_str()],
        vec!["check"],
        vec!["prune", "--dry-run"],
        vec!["repair", "snapshots", "--dry-run"],
    ] {
        let out = env.run(&args);
        // A stack overflow aborts with a signal, which leaves no exit code.
        let code = out.status.code();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(code, Some(0) | Some(1)),
            "{args:?} crashed: {code:?}\n{err}"
        );
        assert_no_panic(&err);
        if code == Some(1) {
            assert!(
                err.contains("deeper") || err.contains("nested"),
                "{args:?}: {err}"
            );
        }
    }
    // Copy into an unrelated repository rewrites every tree through the walk: the deep snapshot
    // stops at the limit with an error naming it, and nothing crashes.
    let dst = Env::init();
    let pw = dst.path("from-password");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let out = dst.run([
        "copy".as_ref(),
        "--from-repo".as_ref(),
        env.repo.as_os_str(),
        "--from-password-file".as_ref(),
        pw.as_os_str(),
        std::ffi::OsStr::new(deep.as_str()),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "copy: {err}");
    assert_no_panic(&err);
    assert!(
        err.contains("deeper") || err.contains("nested"),
        "copy: {err}"
    );
    // Restore gives up below a depth limit, naming it, and restores the levels above.
    let target = env.dir("target");
    let err = env.fails(
        1,
        [
            "restore",
            deep.as_str(),
            "--target",
            &target.to_string_lossy(),
        ],
    );
    assert!(err.contains("nested deeper than"), "{err}");
    let mut depth = 0;
    let mut p = target.clone();
    while p.join("d").is_dir() {
        p.push("d");
        depth += 1;
    }
    assert!((100..100_000).contains(&depth), "restored {depth} levels");
    // The normal snapshot is unaffected.
    let t2 = env.dir("normal");
    env.restore(&normal, &t2, &[]);
    assert_eq!(
        std::fs::read(t2.join("data/a.txt")).unwrap(),
        b"a normal snapshot beside it"
    );
}

/// A real directory nested deeper than the format's limit: backup leaves the deepest part out and
/// says so (exit 3), and everything it saved restores.
#[test]
fn backup_leaves_out_what_is_nested_too_deep_and_says_so() {
    let env = Env::init();
    let mut deep = env.path("data");
    for _ in 0..1005 {
        deep.push("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    write(&deep.join("too-deep.txt"), b"below the limit");
    write(&env.path("data/top.txt"), b"at the top");
    let out = env.run(["backup", "data"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nested deeper than 1000"), "{err}");
    let target = env.dir("restored");
    env.restore("latest", &target, &[]);
    assert_eq!(
        std::fs::read(target.join("data/top.txt")).unwrap(),
        b"at the top"
    );
    let mut depth = 0;
    let mut p = target.join("data");
    while p.join("d").is_dir() {
        p.push("d");
        depth += 1;
    }
    assert_eq!(depth, 999, "levels of d below data/ (data/ is level 1)");
}
