//! `mount`: the snapshots as a read-only FUSE file system, read with the ordinary file tools.
//! Where the kernel refuses FUSE (no /dev/fuse, no permission), the test says so and stops; here
//! and in CI it runs.

use crate::util::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Waits until `p` exists, or the child exits, or 30 s pass.
fn wait_for(p: &Path, child: &mut Child) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if p.exists() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn snapshots_are_browsable_read_only_through_fuse() {
    let env = Env::init();
    let src = env.path("shop");
    write(
        &src.join("products/4211.json"),
        product_json("blue mug", 20_000),
    );
    write(&src.join("media/mug.jpg"), pseudo_random("mug", 3 << 20));
    fs::hard_link(
        src.join("products/4211.json"),
        src.join("products/alias.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink("4211.json", src.join("products/link")).unwrap();
    rustix::fs::setxattr(
        src.join("media/mug.jpg"),
        "user.alt",
        b"a blue mug",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    let first = env.backup(&["--tag", "daily", "--host", "my-shop", "shop"]);
    write(
        &src.join("products/4211.json"),
        product_json("blue mug v2", 20_000),
    );
    let second = env.backup(&["--tag", "daily", "--host", "my-shop", "shop"]);

    let mp = env.path("mnt");
    fs::create_dir(&mp).unwrap();
    let mut child = env
        .std_cmd()
        .args(["mount", mp.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if !wait_for(&mp.join("snapshots"), &mut child) {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("fuse") || err.contains("FUSE"),
            "mount did not come up, and not for want of FUSE: {err}"
        );
        eprintln!("FUSE is refused here, the mount test cannot run: {err}");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let by_id = |id: &str| mp.join("ids").join(&id[..8]).join("shop");
        // Each version as it was.
        assert_eq!(
            fs::read(by_id(&first).join("products/4211.json")).unwrap(),
            product_json("blue mug", 20_000).as_bytes()
        );
        assert_eq!(
            fs::read(by_id(&second).join("products/4211.json")).unwrap(),
            fs::read(src.join("products/4211.json")).unwrap()
        );
        assert_eq!(
            fs::read(by_id(&second).join("media/mug.jpg")).unwrap(),
            fs::read(src.join("media/mug.jpg")).unwrap()
        );
        // Metadata, links and attributes as recorded.
        let m = fs::metadata(by_id(&second).join("products/4211.json")).unwrap();
        let s = fs::metadata(src.join("products/4211.json")).unwrap();
        assert_eq!(
            (m.mode(), m.uid(), m.mtime(), m.nlink()),
            (s.mode(), s.uid(), s.mtime(), 2)
        );
        assert_eq!(
            fs::read_link(by_id(&second).join("products/link")).unwrap(),
            Path::new("4211.json")
        );
        let mut v = [0u8; 32];
        let n = rustix::fs::getxattr(by_id(&second).join("media/mug.jpg"), "user.alt", &mut v[..])
            .unwrap();
        assert_eq!(&v[..n], b"a blue mug");
        // restic's layout.
        let names = |p: &Path| -> Vec<String> {
            let mut v: Vec<String> = fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&mp), ["hosts", "ids", "snapshots", "tags"]);
        assert_eq!(names(&mp.join("hosts")), ["my-shop"]);
        assert_eq!(names(&mp.join("tags")), ["daily"]);
        assert_eq!(names(&mp.join("tags/daily")).len(), 2);
        assert_eq!(
            names(&mp.join("snapshots")).len(),
            3,
            "two times and latest"
        );
        assert_eq!(
            fs::read(mp.join("snapshots/latest/shop/products/4211.json")).unwrap(),
            fs::read(src.join("products/4211.json")).unwrap()
        );
        // Read-only.
        let e = fs::write(mp.join("snapshots/new"), "x").unwrap_err();
        assert_eq!(
            e.raw_os_error(),
            Some(rustix::io::Errno::ROFS.raw_os_error()),
            "{e}"
        );
    });
    let unmount = Command::new("fusermount3").arg("-u").arg(&mp).status();
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
    assert!(unmount.unwrap().success());
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "mount did not end after umount"
    );
    assert!(!mp.join("snapshots").exists());
}
