//! `rest:` repositories against a real REST server: `rclone serve restic` on loopback, with a
//! random user and password, serving a temporary directory, plain and `--append-only`. rclone must
//! be installed (`.ci/run` installs it): without it these tests fail, they do not skip.

use crate::util::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `rclone serve restic`, stopped when dropped.
struct Rclone {
    child: Child,
    /// `rest:http[s]://USER:PASS@127.0.0.1:PORT/`.
    url: String,
    password: String,
    /// The directory served.
    dir: PathBuf,
}

impl Rclone {
    /// Starts rclone serving `dir` on a port the system picks, and waits until it listens.
    fn start(dir: &Path, append_only: bool) -> Rclone {
        Rclone::start_with(dir, append_only, None)
    }

    /// Like [`Rclone::start`], serving HTTPS with a certificate and its key (PEM files).
    fn start_with(dir: &Path, append_only: bool, tls: Option<(&Path, &Path)>) -> Rclone {
        let user = format!("user{:08x}", rand::random::<u32>());
        let password = format!("pw{:032x}", rand::random::<u128>());
        let mut cmd = Command::new("rclone");
        cmd.args(["serve", "restic", "--addr", "127.0.0.1:0"])
            // Credentials through the environment: not on a command line others can read.
            .env("RCLONE_USER", &user)
            .env("RCLONE_PASS", &password)
            .env("RCLONE_CONFIG", dir.with_extension("rclone.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if append_only {
            cmd.arg("--append-only");
        }
        if let Some((cert, key)) = tls {
            cmd.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        cmd.arg(dir);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "rclone is not installed: the REST backend tests need it \
                 (apt-get install rclone; .ci/run installs it)"
            ),
            Err(e) => panic!("starting rclone: {e}"),
        };
        // rclone 1.60 prints "Serving restic REST API on http[s]://127.0.0.1:PORT/" once it listens.
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(at) = line.find("Serving restic REST API on ") {
                        let addr = line[at..].split("://").nth(1).map(str::to_string);
                        let _ = tx.send(Ok(addr.unwrap_or_default()));
                        sent = true;
                    } else {
                        let _ = tx.send(Err(line));
                    }
                }
            }
        });
        let mut early = Vec::new();
        let addr = loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(Ok(addr)) => break addr,
                Ok(Err(line)) => early.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("rclone serve restic did not start:\n{}", early.join("\n"));
                }
            }
        };
        let addr = addr.trim_end_matches('/');
        assert!(
            addr.starts_with("127.0.0.1:"),
            "unexpected address {addr:?}"
        );
        Rclone {
            child,
            url: format!(
                "rest:{}://{user}:{password}@{addr}/",
                if tls.is_some() { "https" } else { "http" }
            ),
            password,
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for Rclone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An environment whose commands use the server's repository.
fn env_on(server: &Rclone) -> Env {
    let mut env = Env::new();
    env.repo = PathBuf::from(&server.url);
    env
}

/// Asserts that the password is in neither output stream.
fn no_password(server: &Rclone, out: &Output) {
    for (name, s) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let s = String::from_utf8_lossy(s);
        assert!(
            !s.contains(&server.password),
            "the server's password is in {name}:\n{s}"
        );
    }
}

/// Runs a command, asserts exit 0 and no password in the output, returns stdout.
fn ok(env: &Env, server: &Rclone, args: &[&str]) -> String {
    let out = env.run(args);
    no_password(server, &out);
    expect_code(&out, 0, &args.iter().map(Into::into).collect::<Vec<_>>());
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs a command, asserts a non-zero exit without a panic and no password in the output,
/// returns stderr.
fn fails(env: &Env, server: &Rclone, args: &[&str]) -> String {
    let out = env.run(args);
    no_password(server, &out);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(out.status.code(), Some(0), "{args:?} succeeded:\n{stderr}");
    assert_no_panic(&stderr);
    stderr
}

fn build_tree(d: &Path) {
    write(&d.join("media/big.bin"), pseudo_random("rest big", 6 << 20));
    write(&d.join("products/1.json"), product_json("rest one", 2_000));
    write(
        &d.join("products/2.json"),
        product_json("rest two", 300_000),
    );
    write(&d.join("empty.txt"), "");
    std::fs::create_dir_all(d.join("empty dir")).unwrap();
}

/// `backup --json` of `store`, asserting success; the snapshot ID.
fn backup(env: &Env, server: &Rclone) -> String {
    let out = ok(env, server, &["--json", "backup", "store"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("backup --json");
    v["snapshot_id"].as_str().expect("snapshot_id").to_string()
}

fn restore_and_compare(env: &Env, server: &Rclone, store: &Path, target: &str) {
    let target = env.dir(target);
    ok(
        env,
        server,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    );
    assert_same_tree(store, &target.join("store"));
}

#[test]
fn rest_repository_through_rclone_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Rclone::start(&tmp.path().join("served"), false);
    let mut env = env_on(&server);
    let store = env.path("store");
    build_tree(&store);

    let init = ok(&env, &server, &["init"]);
    assert!(init.contains("rest:http://user"), "{init}");
    assert!(
        server.dir.join("config").is_file(),
        "no config on the server"
    );
    // A second init is refused: the server would answer 200, the backend checks first.
    let err = fails(&env, &server, &["init"]);
    assert!(err.contains("a repository already exists"), "{err}");

    let first = backup(&env, &server);
    assert_eq!(env.snapshots(&[]).len(), 1);
    restore_and_compare(&env, &server, &store, "restored");
    ok(&env, &server, &["check", "--read-data"]);

    write(
        &store.join("products/3.json"),
        product_json("rest three", 50_000),
    );
    std::fs::remove_file(store.join("products/1.json")).unwrap();
    let second = backup(&env, &server);
    assert_ne!(first, second);
    assert_eq!(env.snapshots(&[]).len(), 2);

    ok(&env, &server, &["forget", "--keep-last", "1", "--prune"]);
    let left = env.snapshots(&[]);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], second);

    // From another machine's point of view too (nothing from the cache).
    env.fresh_cache();
    restore_and_compare(&env, &server, &store, "restored-again");
    ok(&env, &server, &["check", "--read-data"]);
}

#[test]
fn append_only_server_takes_backups_and_refuses_forget_and_prune() {
    let tmp = tempfile::tempdir().unwrap();
    let served = tmp.path().join("served");
    let mut env = Env::new();
    let store = env.path("store");
    build_tree(&store);
    // Through a plain server: two backups and a forget, leaving prune work to do.
    {
        let plain = Rclone::start(&served, false);
        env.repo = PathBuf::from(&plain.url);
        ok(&env, &plain, &["init"]);
        backup(&env, &plain);
        std::fs::remove_file(store.join("media/big.bin")).unwrap();
        backup(&env, &plain);
        ok(&env, &plain, &["forget", "--keep-last", "1"]);
    }
    let server = Rclone::start(&served, true);
    env.repo = PathBuf::from(&server.url);
    write(
        &store.join("products/3.json"),
        product_json("append three", 50_000),
    );
    backup(&env, &server);
    backup(&env, &server);
    // Lock files may be deleted: no lock is left behind by the backups.
    let locks = std::fs::read_dir(served.join("locks")).unwrap().count();
    assert_eq!(locks, 0, "lock files left behind");

    // Every command that deletes is refused before it changes anything: no file of the
    // repository is added or removed (prune used to write its new index files first).
    let listing = || {
        let mut names = rel_paths(&served);
        names.retain(|p| !p.starts_with("locks/"));
        names
    };
    let before = listing();
    let key = env.json(["key", "list", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for args in [
        &["forget", "--keep-last", "1"][..],
        &["forget", "--keep-last", "1", "--prune"][..],
        &["prune"][..],
        &["repair", "index"][..],
        &["repair", "snapshots"][..],
        &["key", "remove", &key[..8]][..],
    ] {
        let out = env.run(args);
        no_password(&server, &out);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(14), "{args:?}:\n{err}");
        assert!(
            err.contains("append-only") && err.contains("nothing was changed"),
            "{args:?}: the refusal is not explained:\n{err}"
        );
        assert_eq!(listing(), before, "{args:?} changed the repository");
    }
    // Dry runs delete nothing and still work.
    ok(&env, &server, &["forget", "--keep-last", "1", "--dry-run"]);
    ok(&env, &server, &["prune", "--dry-run"]);
    // No snapshot was removed, and the repository is whole.
    assert_eq!(env.snapshots(&[]).len(), 3);
    ok(&env, &server, &["check", "--read-data"]);
    restore_and_compare(&env, &server, &store, "restored");
}

#[test]
fn the_password_is_never_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Rclone::start(&tmp.path().join("served"), false);
    let env = env_on(&server);
    write(&env.path("store/a.txt"), "a");
    // Success, JSON and verbose output.
    let init = ok(&env, &server, &["--json", "init"]);
    let v: serde_json::Value = serde_json::from_str(&init).unwrap();
    assert!(
        v["repository"]
            .as_str()
            .unwrap()
            .starts_with("rest:http://user"),
        "{v}"
    );
    ok(&env, &server, &["-vv", "backup", "store"]);
    ok(&env, &server, &["-vv", "--timeout", "30s", "snapshots"]);
    // -vvv shows the HTTP client's own trace too.
    ok(&env, &server, &["-vvv", "snapshots"]);
    // clap's help shows environment variables, but not this one's value.
    ok(&env, &server, &["snapshots", "--help"]);
    // Failures that name the repository: wrong password for the server, no repository there,
    // and a malformed location.
    let wrong = server.url.replace(&server.password, "not-the-password");
    let err = fails(&env, &server, &["-r", &wrong, "snapshots"]);
    assert!(err.contains("401"), "{err}");
    let elsewhere = format!("{}elsewhere/", server.url);
    let err = fails(&env, &server, &["-r", &elsewhere, "snapshots"]);
    assert!(err.contains("no repository"), "{err}");
    let malformed = server.url.replace("http://", "ftp://");
    let err = fails(&env, &server, &["-r", &malformed, "snapshots"]);
    assert!(err.contains("http://"), "{err}");
    let err = fails(&env, &server, &["-r", "sftp:user@host:/srv", "snapshots"]);
    assert!(err.contains("not supported yet"), "{err}");
}

#[test]
fn backups_and_restores_get_through_a_faulty_network() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Rclone::start(&tmp.path().join("served"), false);
    let addr = server
        .url
        .rsplit('@')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let (port, faults) = fault_proxy(&addr);
    let mut env = env_on(&server);
    env.repo = PathBuf::from(server.url.replace(&addr, &format!("127.0.0.1:{port}")));
    let store = env.path("store");
    build_tree(&store);
    ok(&env, &server, &["init"]);
    backup(&env, &server);
    write(
        &store.join("products/3.json"),
        product_json("faulty three", 50_000),
    );
    backup(&env, &server);
    env.fresh_cache();
    restore_and_compare(&env, &server, &store, "restored");
    ok(&env, &server, &["check", "--read-data"]);
    ok(&env, &server, &["forget", "--keep-last", "1", "--prune"]);
    env.fresh_cache();
    restore_and_compare(&env, &server, &store, "restored-again");
    let faults = faults.load(std::sync::atomic::Ordering::SeqCst);
    assert!(faults > 20, "only {faults} faults were injected");
}

#[test]
fn lost_answers_to_writes_on_an_append_only_server_are_not_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Rclone::start(&tmp.path().join("served"), true);
    let addr = server
        .url
        .rsplit('@')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let (port, _) = fault_proxy(&addr);
    let mut env = env_on(&server);
    env.repo = PathBuf::from(server.url.replace(&addr, &format!("127.0.0.1:{port}")));
    let store = env.path("store");
    build_tree(&store);
    ok(&env, &server, &["init"]);
    // Every write's first answer is lost, so the retry is refused (403: no overwrite) and counts
    // as done once a HEAD shows the file with the size written.
    let out = env.run(["-v", "backup", "store"]);
    no_password(&server, &out);
    expect_code(&out, 0, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pack file") && stderr.contains("an earlier try got through"),
        "{stderr}"
    );
    env.fresh_cache();
    restore_and_compare(&env, &server, &store, "restored");
    ok(&env, &server, &["check", "--read-data"]);
}

/// Makes a certificate authority and a certificate it signs for 127.0.0.1 with `openssl` (in
/// `dir`): the CA's certificate, the server's certificate and the server's key.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("openssl is needed for the HTTPS test: {e}"));
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=backstock test CA",
    ]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// A REST server on HTTPS with a certificate of its own: without its authority the command fails
/// at once (no retries) naming TLS and `--cacert`; with `--cacert` (or `BACKSTOCK_CACERT`) the
/// repository works end to end; a file that holds no certificate is refused by name.
#[test]
fn https_rest_server_with_its_own_certificate_authority() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certificates(&tmp.path().join("tls"));
    let server = Rclone::start_with(&tmp.path().join("served"), false, Some((&cert, &key)));
    assert!(server.url.starts_with("rest:https://"), "{}", server.url);
    let env = env_on(&server);
    let store = env.path("store");
    build_tree(&store);

    let err = fails(&env, &server, &["init"]);
    assert!(err.contains("TLS") && err.contains("--cacert"), "{err}");
    // Permanent: reported after one attempt, not after the retries of a network fault.
    assert!(
        !err.contains("tries") && !err.contains("trying again"),
        "{err}"
    );
    assert!(
        files_under(&server.dir).is_empty(),
        "nothing may be written"
    );

    let ca_s = ca.to_str().unwrap();
    ok(&env, &server, &["--cacert", ca_s, "init"]);
    let out = env
        .cmd()
        .env("BACKSTOCK_CACERT", &ca)
        .args(["backup", "store"])
        .output()
        .unwrap();
    no_password(&server, &out);
    expect_code(&out, 0, &[]);
    let target = env.dir("restored");
    ok(
        &env,
        &server,
        &[
            "--cacert",
            ca_s,
            "restore",
            "latest",
            "--target",
            target.to_str().unwrap(),
        ],
    );
    assert_same_tree(&store, &target.join("store"));
    ok(&env, &server, &["--cacert", ca_s, "check", "--read-data"]);

    let not_pem = env.path("not-a-ca.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let err = fails(
        &env,
        &server,
        &["--cacert", not_pem.to_str().unwrap(), "snapshots"],
    );
    assert!(
        err.contains("not-a-ca.pem") && err.contains("certificate"),
        "{err}"
    );
}
