//! What a backup reads and writes when its input is hostile or changing: names a tree cannot hold,
//! files swapped for symlinks or FIFOs between listing and reading, files that grow while read, and
//! relative paths given from different directories.

mod common;

use common::*;

/// `--stdin-filename` values no tree can hold are refused before the repository is touched.
#[test]
fn bad_stdin_filenames_are_refused_and_write_nothing() {
    let env = Env::init();
    let before = env.repo_contents();
    // (An argument cannot hold NUL; save_tree's own check covers that, in a unit test.)
    for name in ["..", ".", "a/b", "", "/", "/.."] {
        let out = env.run_stdin(
            ["backup", "--stdin", "--stdin-filename", name],
            b"some bytes",
        );
        expect_code(&out, 1, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--stdin-filename") && err.contains("not a valid file name"),
            "{name:?}: {err}"
        );
        assert_eq!(
            env.repo_contents(),
            before,
            "{name:?} changed the repository"
        );
    }
    assert!(env.names_in("snapshots").is_empty());

    // A leading '/' is dropped; the name is then a plain name and the backup works.
    env.ok_stdin(
        ["backup", "--stdin", "--stdin-filename", "/db.sql"],
        b"create table t;\n",
    );
    assert_eq!(env.ls("latest"), ["/db.sql"]);
    assert_eq!(
        env.ok_bytes(["dump", "latest", "db.sql"]),
        b"create table t;\n"
    );
    // The repository stays readable as a whole.
    env.ok(["check"]);
}
