use super::*;
use std::os::unix::fs::MetadataExt;

fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for_each_file(dir, Path::new(""), &mut |rel| {
        out.push(format!(
            "{}={}",
            rel.display(),
            fs::read_to_string(dir.join(rel)).unwrap()
        ));
        Ok(())
    })
    .unwrap();
    out.sort();
    out
}

#[test]
fn a_commit_stages_changes_only_and_leaves_unchanged_files_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("export");
    let s = Staging::open(&out).unwrap();
    s.write(Path::new("products/1.json"), b"one").unwrap();
    s.write(Path::new("products/2.json"), b"two").unwrap();
    s.write(Path::new("pages/9.json"), b"nine").unwrap();
    s.commit(b"{}").unwrap();
    let before = fs::metadata(out.join("products/1.json")).unwrap();
    let s = Staging::open(&out).unwrap();
    s.write(Path::new("products/1.json"), b"one").unwrap();
    s.write(Path::new("products/3.json"), b"three").unwrap();
    s.commit(b"{\"n\":2}").unwrap();
    assert_eq!(
        tree(&out),
        [
            ".backstock-shopify/state.json={\"n\":2}",
            "products/1.json=one",
            "products/3.json=three"
        ]
    );
    let after = fs::metadata(out.join("products/1.json")).unwrap();
    assert_eq!(
        (before.ino(), before.ctime(), before.ctime_nsec()),
        (after.ino(), after.ctime(), after.ctime_nsec())
    );
    assert!(!out.join("pages").exists(), "an emptied folder is removed");
    assert!(!sibling(&out, ".backstock-staging").exists());
}

#[test]
fn a_version_staged_then_found_equal_is_dropped_and_the_connector_files_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("export");
    let s = Staging::open(&out).unwrap();
    s.write(Path::new("p.json"), b"final").unwrap();
    s.commit(b"{}").unwrap();
    fs::write(out.join(IDS_FILE), "{}").unwrap();
    let s = Staging::open(&out).unwrap();
    s.write(Path::new("p.json"), b"partial").unwrap();
    assert_eq!(s.read(Path::new("p.json")).unwrap().unwrap(), b"partial");
    s.write(Path::new("p.json"), b"final").unwrap();
    s.commit(b"{}").unwrap();
    assert_eq!(
        tree(&out),
        [
            ".backstock-shopify/ids.json={}",
            ".backstock-shopify/state.json={}",
            "p.json=final"
        ]
    );
}

#[test]
fn a_failed_run_leaves_the_previous_export_and_the_next_run_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("export");
    let s = Staging::open(&out).unwrap();
    s.write(Path::new("a.json"), b"a").unwrap();
    s.commit(b"{}").unwrap();
    let before = tree(&out);
    let s = Staging::open(&out).unwrap();
    s.write(Path::new("a.json"), b"changed").unwrap();
    s.write(Path::new("b.json"), b"b").unwrap();
    drop(s); // a crash before the commit
    assert_eq!(tree(&out), before);
    Staging::open(&out).unwrap().abandon().unwrap();
    assert_eq!(tree(&out), before);
    assert!(!sibling(&out, ".backstock-staging").exists());
}

#[test]
fn a_crash_while_applying_is_finished_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("export");
    let s = Staging::open(&out).unwrap();
    s.write(Path::new("a.json"), b"a").unwrap();
    s.write(Path::new("gone.json"), b"x").unwrap();
    s.commit(b"{}").unwrap();
    // A ready staging area, half applied: b.json moved in, c.json not yet, gone.json still there.
    let s = Staging::open(&out).unwrap();
    s.keep(Path::new("a.json")).unwrap();
    s.write(Path::new("b.json"), b"b").unwrap();
    s.write(Path::new("c.json"), b"c").unwrap();
    let root = s.root.clone();
    s.list(Path::new(STATE_FILE)).unwrap();
    s.manifest.borrow_mut().flush().unwrap();
    fs::write(root.join("ready"), b"{\"n\":2}").unwrap();
    fs::rename(root.join("new/b.json"), out.join("b.json")).unwrap();
    drop(s);
    Staging::open(&out).unwrap().abandon().unwrap();
    assert_eq!(
        tree(&out),
        [
            ".backstock-shopify/state.json={\"n\":2}",
            "a.json=a",
            "b.json=b",
            "c.json=c"
        ]
    );
}

#[test]
fn a_folder_that_is_not_an_export_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("mine.txt"), "keep").unwrap();
    let err = Staging::open(tmp.path()).err().unwrap();
    assert!(err.to_string().contains("not a backstock export"), "{err}");
    assert_eq!(
        fs::read_to_string(tmp.path().join("mine.txt")).unwrap(),
        "keep"
    );
}
