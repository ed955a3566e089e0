//! Files come back as they were, checked with the system's own tools (`stat`, `getfattr`,
//! `test -p`): hard links, extended attributes (user, trusted, security and ACLs), FIFOs, device
//! nodes, sockets (recorded, not made), and sparse files with `restore --sparse`.

use crate::util::*;
use backstock::format::tree::{NodeKind, Xattr};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

/// `CMD ARGS` run in `dir`; its standard output, asserting success.
fn tool(dir: &Path, cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd} (is it installed? .ci/run installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Type, mode, owner, device number, link count and mtime of each entry, by `stat`, and every
/// extended attribute in every namespace, by `getfattr` (hex values), of the tree at `dir`.
fn described(dir: &Path, names: &[&str]) -> String {
    let mut args = vec!["-c", "%n|%F|%a|%u|%g|%t:%T|%h|%.9Y"];
    args.extend_from_slice(names);
    let stat = tool(dir, "stat", &args);
    let mut getfattr = vec!["-d", "-m", "-", "-h", "-e", "hex"];
    getfattr.extend_from_slice(names);
    let xattrs = tool(dir, "getfattr", &getfattr);
    format!("{stat}\n{xattrs}")
}

fn set_xattr(p: &Path, name: &str, value: &[u8]) {
    rustix::fs::lsetxattr(p, name, value, rustix::fs::XattrFlags::empty())
        .unwrap_or_else(|e| panic!("setting {name} on {}: {e}", p.display()));
}

/// A capability set (`security.capability`, revision 2, effective): CAP_NET_BIND_SERVICE.
fn capability() -> Vec<u8> {
    [0x0200_0001u32, 1 << 10, 0, 0, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

/// An access ACL (`system.posix_acl_access`): owner rw, user 1000 r, group r, mask r, other none.
fn acl() -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 6u16, u32::MAX),
        (2, 4, 1000),
        (4, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        v.extend(tag.to_le_bytes());
        v.extend(perm.to_le_bytes());
        v.extend(id.to_le_bytes());
    }
    v
}

#[test]
fn hard_links_special_files_and_extended_attributes_come_back_as_they_were() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    write(&src.join("shared.json"), "one inode, three names\n");
    fs::hard_link(src.join("shared.json"), src.join("also.json")).unwrap();
    fs::hard_link(src.join("shared.json"), src.join("sub/third.json")).unwrap();
    write(&src.join("alone.txt"), "one name\n");
    std::os::unix::fs::symlink("alone.txt", src.join("link")).unwrap();
    let mknod = |name: &str, t: rustix::fs::FileType, dev: u64| {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            src.join(name),
            t,
            rustix::fs::Mode::from_raw_mode(0o640),
            dev,
        )
        .unwrap_or_else(|e| panic!("mknod {name}: {e}"))
    };
    mknod("pipe", rustix::fs::FileType::Fifo, 0);
    let _socket = std::os::unix::net::UnixListener::bind(src.join("sock")).unwrap();
    set_xattr(
        &src.join("shared.json"),
        "user.origin",
        b"export 2026-12-01",
    );
    set_xattr(&src.join("alone.txt"), "user.binary", &[0, 1, 2, 255]);
    set_xattr(&src.join("sub"), "user.dir", b"a directory's attribute");
    // The socket is recorded but never made (a program makes it when it listens): it is
    // compared apart.
    let mut names = vec![
        "shared.json",
        "also.json",
        "sub",
        "sub/third.json",
        "alone.txt",
        "link",
        "pipe",
    ];
    let root = is_root();
    if root {
        // What only root may make or set: device nodes, trusted.* on any type, a file
        // capability, an ACL (setting it as owner works too, but chown would clear it then).
        mknod(
            "tty",
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::makedev(5, 0),
        );
        mknod(
            "loop",
            rustix::fs::FileType::BlockDevice,
            rustix::fs::makedev(7, 3),
        );
        names.extend(["tty", "loop"]);
        set_xattr(&src.join("link"), "trusted.on-a-symlink", b"L");
        set_xattr(&src.join("pipe"), "trusted.on-a-fifo", b"P");
        set_xattr(&src.join("alone.txt"), "system.posix_acl_access", &acl());
        std::os::unix::fs::lchown(src.join("alone.txt"), Some(1000), Some(100)).unwrap();
        set_xattr(&src.join("alone.txt"), "security.capability", &capability());
    } else {
        eprintln!("not root: device nodes, trusted.* and security.* are left out of this run");
    }
    let before = described(&src, &names);

    let report = env.backup_json(&["src"]);
    assert_eq!(report["skipped"], serde_json::json!([]), "{report}");
    assert_eq!(report["failures"], serde_json::json!([]), "{report}");
    // The snapshot records what each entry is.
    let long = env.ok(["ls", "-l", "latest:src"]);
    assert!(long.contains("prw-r-----"), "{long}");
    assert!(long.contains("srwx"), "{long}");
    if root {
        assert!(long
            .lines()
            .any(|l| l.starts_with("crw-r-----") && l.contains("5, 0")));
        assert!(long
            .lines()
            .any(|l| l.starts_with("brw-r-----") && l.contains("7, 3")));
    }

    let target = env.dir("target");
    let out = env.ok(["restore", "latest", "--target", target.to_str().unwrap()]);
    assert!(out.contains("2 hard links"), "{out}");
    let restored = target.join("src");
    assert_eq!(described(&restored, &names), before);
    assert!(!restored.join("sock").exists());
    assert!(out.contains("(1 skipped)"), "{out}");

    // One inode, three names, in the target as in the source.
    let ino = |p: &str| fs::metadata(restored.join(p)).unwrap().ino();
    assert_eq!(ino("shared.json"), ino("also.json"));
    assert_eq!(ino("shared.json"), ino("sub/third.json"));
    assert_ne!(ino("shared.json"), ino("alone.txt"));
    assert_eq!(fs::metadata(restored.join("also.json")).unwrap().nlink(), 3);
    tool(&restored, "test", &["-p", "pipe"]);
}

#[test]
fn sparse_files_come_back_sparse_with_sparse_and_the_zeros_are_stored_once() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    // 50 MiB apparent, 8 KiB of data in the middle: a database file or a VM image in small.
    let f = fs::File::create(src.join("sparse.img")).unwrap();
    f.set_len(50 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &pseudo_random("data", 8192), 20 << 20).unwrap();
    drop(f);
    let blocks = |p: &Path| {
        tool(
            p.parent().unwrap(),
            "stat",
            &["-c", "%b", p.to_str().unwrap()],
        )
    };
    let kib = |p: &Path| blocks(p).trim().parse::<u64>().unwrap() / 2;
    assert!(kib(&src.join("sparse.img")) <= 64);
    env.backup(&["src"]);
    assert!(
        env.repo_size() < 2 << 20,
        "50 MiB of zeros should be stored once: {} bytes",
        env.repo_size()
    );

    let dense = env.dir("dense");
    env.restore("latest", &dense, &[]);
    let sparse = env.dir("sparse");
    env.restore("latest", &sparse, &["--sparse"]);
    for t in [&dense, &sparse] {
        assert_eq!(
            fs::read(t.join("src/sparse.img")).unwrap(),
            fs::read(src.join("sparse.img")).unwrap()
        );
    }
    let (d, s) = (
        kib(&dense.join("src/sparse.img")),
        kib(&sparse.join("src/sparse.img")),
    );
    assert!(
        d >= 50 << 10,
        "without --sparse the file is written out: {d} KiB"
    );
    assert!(
        s <= 1024,
        "with --sparse the zeros stay holes: {s} KiB on disk"
    );
}

#[test]
fn a_restore_without_privilege_names_what_it_could_not_make_and_succeeds() {
    let env = Env::init();
    write_snapshot(&env, |s| {
        let mut dev = bare_node("tty", NodeKind::CharDevice, 0o620, 0, 5);
        dev.rdev = rustix::fs::makedev(5, 0);
        let sock = bare_node("sock", NodeKind::Socket, 0o755, 0, 0);
        let mut f = file_node(s, "data.json", b"{\"id\": 1}\n", 0o644, 0, 0);
        f.xattrs = vec![
            Xattr {
                name: b"trusted.only-root".to_vec(),
                value: b"t".to_vec(),
            },
            Xattr {
                name: b"user.anyone".to_vec(),
                value: b"u".to_vec(),
            },
        ];
        vec![f, sock, dev]
    });
    let target = env.path("target");
    let out = run_unprivileged(
        &env,
        &[
            "--json".into(),
            "restore".into(),
            "latest".into(),
            "--target".into(),
            target.clone().into(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    expect_code(&out, 0, &[]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(report["specials_skipped"], 2, "{report}");
    assert_eq!(report["files"], 1, "{report}");
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("tty: character device not made") && w.contains("root")),
        "{warnings:?}"
    );
    assert!(warnings
        .iter()
        .any(|w| w.starts_with("sock: socket not made")));
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("data.json: extended attribute trusted.only-root not restored")),
        "{warnings:?}"
    );
    assert!(
        stderr.contains("warning: tty: character device not made"),
        "{stderr}"
    );
    // What could be set was set; the content is whole.
    assert_eq!(
        fs::read(target.join("data.json")).unwrap(),
        b"{\"id\": 1}\n"
    );
    let user = rustix::fs::getxattr(target.join("data.json"), "user.anyone", &mut [0u8; 8][..]);
    assert_eq!(user.ok(), Some(1));
}
