//! `dump` of a directory: a tar stream (restic's default) or, with `--archive zip`, a zip stream,
//! checked by extracting them with the system's `tar` and Python's `zipfile` and comparing with
//! the source; a file stays its raw bytes.

use crate::util::*;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::Command;

/// Files of several sizes (one of several blobs), odd names, a symlink, a hard link, a FIFO and
/// an attribute.
fn build(src: &Path) {
    write(&src.join("products/1.json"), product_json("one", 3_000));
    write(&src.join("products/big.json"), product_json("big", 9 << 20));
    write(&src.join("media/photo.jpg"), pseudo_random("jpg", 3 << 20));
    write(&src.join("odd/new\nline and spaces é"), "odd\n");
    write(
        &src.join(format!("deep/{}/x", "d".repeat(120))),
        "long path\n",
    );
    write(&src.join("empty"), "");
    std::os::unix::fs::symlink("products/1.json", src.join("link")).unwrap();
    fs::hard_link(src.join("products/1.json"), src.join("again.json")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        src.join("pipe"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    rustix::fs::setxattr(
        src.join("empty"),
        "user.origin",
        b"export",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_directory_dumps_as_a_tar_that_tar_extracts_to_the_same_tree() {
    let env = Env::init();
    let src = env.path("src");
    build(&src);
    env.backup(&["src"]);
    let tar = env.ok_bytes(["dump", "latest", "/src"]);
    let out = env.path("tar-out");
    fs::create_dir(&out).unwrap();
    fs::write(env.path("dump.tar"), &tar).unwrap();
    run(Command::new("tar")
        .args(["-x", "--xattrs", "--xattrs-include=user.*", "-f"])
        .arg(env.path("dump.tar"))
        .arg("-C")
        .arg(&out));
    assert_same_tree(&src, &out.join("src"));
    let ino = |p: &str| fs::metadata(out.join("src").join(p)).unwrap().ino();
    assert_eq!(ino("again.json"), ino("products/1.json"));
    assert!(fs::symlink_metadata(out.join("src/pipe"))
        .unwrap()
        .file_type()
        .is_fifo());
    let v = rustix::fs::getxattr(out.join("src/empty"), "user.origin", &mut [0u8; 16][..]);
    assert_eq!(v.ok(), Some(6));

    // To a file with --target, the same bytes; a subdirectory holds only what is below it.
    let file = env.path("products.tar");
    env.ok([
        "dump",
        "latest",
        "src/products",
        "--target",
        file.to_str().unwrap(),
    ]);
    let listing = Command::new("tar").arg("-tf").arg(&file).output().unwrap();
    let names = String::from_utf8(listing.stdout).unwrap();
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        [
            "src/products/",
            "src/products/1.json",
            "src/products/big.json"
        ]
    );
    // A file stays raw.
    assert_eq!(
        env.ok_bytes(["dump", "latest", "src/products/1.json"]),
        fs::read(src.join("products/1.json")).unwrap()
    );
}

#[test]
fn a_directory_dumps_as_a_zip_with_archive_zip() {
    let env = Env::init();
    let src = env.path("src");
    build(&src);
    env.backup(&["src"]);
    let zip = env.path("dump.zip");
    let out = env.run([
        "dump",
        "latest",
        "src",
        "--archive",
        "zip",
        "--target",
        zip.to_str().unwrap(),
    ]);
    expect_code(&out, 0, &[]);
    // The FIFO cannot be held by a zip: named, left out.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("src/pipe: a FIFO cannot be written to this archive"),
        "{stderr}"
    );
    let extracted = env.path("zip-out");
    run(Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&zip)
        .arg(&extracted));
    for f in files_under(&src) {
        let rel = f.strip_prefix(&src).unwrap();
        if fs::symlink_metadata(&f).unwrap().file_type().is_symlink() {
            continue;
        }
        assert_eq!(
            fs::read(extracted.join("src").join(rel)).unwrap(),
            fs::read(&f).unwrap(),
            "{}",
            rel.display()
        );
    }
    // Media stored as is, text deflated.
    let info = Command::new("python3")
        .args(["-c", "import sys,zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, i.compress_type)"])
        .arg(&zip)
        .output()
        .unwrap();
    let info = String::from_utf8(info.stdout).unwrap();
    assert!(info.lines().any(|l| l == "src/media/photo.jpg 0"), "{info}");
    assert!(
        info.lines().any(|l| l == "src/products/big.json 8"),
        "{info}"
    );
}

#[test]
fn dump_of_a_socket_or_missing_path_is_a_clear_error() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let _l = std::os::unix::net::UnixListener::bind(src.join("sock")).unwrap();
    env.backup(&["src"]);
    let e = env.fails(1, ["dump", "latest", "src/sock"]);
    assert!(
        e.contains("is a socket: dump writes files and directories"),
        "{e}"
    );
    let e = env.fails(1, ["dump", "latest", "src/nope"]);
    assert!(e.contains("does not exist"), "{e}");
}
