//! Opening a repository through the binary: init never writes over repository files, a missing
//! config reads as damage, passwords from every source, and key files a hostile store could add.

use crate::util::*;
use backstock::crypto::kdf::KdfParams;
use backstock::crypto::MasterKeys;
use backstock::format::keyfile::KeyFile;
use std::fs;

/// Issue 8, point 16: with `config` gone, the error says the repository looks damaged (not "run
/// init"), and `init` refuses to write a new config and key beside the old files.
#[test]
fn init_never_writes_over_a_repository_without_config() {
    let env = Env::init();
    write(&env.path("data/a.txt"), b"precious");
    env.backup(&["data"]);
    let before = env.repo_contents();
    fs::remove_file(env.repo.join("config")).unwrap();
    let err = env.fails(13, ["snapshots"]);
    assert!(
        err.contains("damaged") && !err.contains("run `backstock init`"),
        "{err}"
    );
    let err = env.fails(1, ["init"]);
    assert!(err.contains("refusing"), "{err}");
    let mut after = env.repo_contents();
    after.insert(
        env.repo.join("config"),
        before[&env.repo.join("config")].clone(),
    );
    assert_eq!(before, after, "init changed the repository");
    // A location with nothing of a repository is still no repository (exit 10).
    let empty = env.path("nothing-here");
    fs::create_dir(&empty).unwrap();
    let out = env
        .cmd()
        .arg("-r")
        .arg(&empty)
        .arg("snapshots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
}

/// Issue 8, point 20: an empty password is refused from every source; a password file wins over
/// BACKSTOCK_PASSWORD; a file's CR/LF line ending is not part of the password (issue 8, point 17).
#[test]
fn passwords_from_every_source() {
    let env = Env::new();
    let out = env
        .cmd()
        .env("BACKSTOCK_PASSWORD", "")
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
    assert!(!env.repo.exists(), "no repository with an empty password");
    let empty_file = env.path("empty-pw");
    write(&empty_file, b"\n");
    let out = env
        .cmd()
        .arg("--password-file")
        .arg(&empty_file)
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!env.repo.exists());

    let env = Env::init();
    // The right password in a file written on another system (CRLF), the wrong one in the
    // environment: the file wins.
    let file = env.path("pw");
    write(&file, format!("{PASSWORD}\r\nsecond line ignored\n"));
    let out = env
        .cmd()
        .env("BACKSTOCK_PASSWORD", "wrong")
        .arg("--password-file")
        .arg(&file)
        .arg("snapshots")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .cmd()
        .env("BACKSTOCK_PASSWORD", "wrong")
        .arg("snapshots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(12));
}

/// restic's --password-command and --repository-file: the command's first line is the password
/// (it wins over BACKSTOCK_PASSWORD; quotes split as in a shell), a failing or silent command is
/// an error naming the program but not its arguments, and each conflicts with its sibling (a
/// usage error, exit 1 as in restic).
#[test]
fn password_command_and_repository_file_as_in_restic() {
    let env = Env::init();
    let file = env.path("pass word");
    write(&file, format!("{PASSWORD}\nsecond line ignored\n"));
    let command = format!("cat '{}'", file.display());
    let run = |args: &[&str], setup: &dyn Fn(&mut assert_cmd::Command)| {
        let mut c = env.cmd();
        setup(&mut c);
        let out = c.args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--password-command", &command, "snapshots"], &|c| {
        c.env("BACKSTOCK_PASSWORD", "wrong");
    });
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&["snapshots"], &|c| {
        c.env("BACKSTOCK_PASSWORD", "wrong")
            .env("BACKSTOCK_PASSWORD_COMMAND", &command);
    });
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(
        &[
            "--password-command",
            "sh -c 'exit 3' secretword",
            "snapshots",
        ],
        &|_| {},
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the password command sh failed"), "{err}");
    assert!(!err.contains("secretword"), "{err}");
    let help = env
        .cmd()
        .env("BACKSTOCK_PASSWORD_COMMAND", "pass show secretword")
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--password-command") && !help.contains("secretword"),
        "{help}"
    );
    let (code, err) = run(&["--password-command", "true", "snapshots"], &|_| {});
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("printed no password"), "{err}");
    let pw_file = file.to_str().unwrap();
    let (code, err) = run(
        &[
            "--password-file",
            pw_file,
            "--password-command",
            "true",
            "snapshots",
        ],
        &|_| {},
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot be used with"), "{err}");

    let location = env.path("location");
    write(&location, format!("{}\n", env.repo.display()));
    let location = location.to_str().unwrap();
    let (code, err) = run(&["--repository-file", location, "snapshots"], &|c| {
        c.env_remove("BACKSTOCK_REPOSITORY");
    });
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&["snapshots"], &|c| {
        c.env_remove("BACKSTOCK_REPOSITORY")
            .env("BACKSTOCK_REPOSITORY_FILE", location);
    });
    assert_eq!(code, Some(0), "{err}");
    // -r, here through BACKSTOCK_REPOSITORY, and --repository-file conflict.
    let (code, err) = run(&["--repository-file", location, "snapshots"], &|_| {});
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
    let empty = env.path("empty-location");
    write(&empty, b"\n");
    let (code, err) = run(
        &["--repository-file", empty.to_str().unwrap(), "snapshots"],
        &|c| {
            c.env_remove("BACKSTOCK_REPOSITORY");
        },
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is empty"), "{err}");
}

/// Issue 8, point 17: a damaged key file is reported as damaged, not as a wrong password.
#[test]
fn a_corrupt_key_file_is_not_a_wrong_password() {
    let env = Env::init();
    let keys = env.names_in("keys");
    assert_eq!(keys.len(), 1);
    flip_byte(&env.repo.join("keys").join(&keys[0]), 100);
    let err = env.fails(13, ["snapshots"]);
    assert!(err.contains("corrupt") && err.contains(&keys[0]), "{err}");
    assert!(!err.contains("wrong password"), "{err}");
}

/// A key file as a hostile store would add it: named correctly, demanding `kdf` (written with cheap
/// parameters and then relabelled, so the test does not pay for `kdf`; it opens with no password).
fn plant_key(env: &Env, kdf: KdfParams) -> String {
    let cheap = KdfParams {
        m_cost: backstock::crypto::kdf::M_COST_MIN,
        t_cost: 1,
        p_cost: 1,
    };
    let mut bytes = KeyFile::create(
        &MasterKeys::generate(),
        b"someone else",
        cheap,
        0,
        "evil",
        "evil",
    )
    .unwrap()
    .encode();
    bytes[8..12].copy_from_slice(&kdf.m_cost.to_le_bytes());
    bytes[12..16].copy_from_slice(&kdf.t_cost.to_le_bytes());
    bytes[16..20].copy_from_slice(&kdf.p_cost.to_le_bytes());
    let name = hex::encode(blake3::hash(&bytes).as_bytes());
    write(&env.repo.join("keys").join(&name), &bytes);
    name
}

/// Issue 8, point 18: a key file that demands far more key-derivation work than backstock writes
/// is skipped with a warning; key files beyond the limit are not tried, and `--key-hint` or the
/// remembered key lets the right one through.
#[test]
fn costly_and_many_key_files_cannot_stall_opening() {
    let mut env = Env::init();
    let ours = env
        .json(["key", "list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let costly = plant_key(
        &env,
        KdfParams {
            m_cost: 512 * 1024,
            t_cost: 16,
            p_cost: 16,
        },
    );
    let err = String::from_utf8_lossy(&env.run(["--no-cache", "snapshots"]).stderr).into_owned();
    assert!(err.contains(&costly) && err.contains("skipping"), "{err}");

    // 24 cheap key files for other passwords, as cheap as ours: without a hint, ours may come after
    // the 20 that are tried.
    let cheap = KdfParams::default();
    for _ in 0..24 {
        plant_key(&env, cheap);
    }
    let out = env.run(["--no-cache", "--key-hint", &ours[..8], "snapshots"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `init` remembered the key it made: with that cache the right key is tried first.
    env.ok(["snapshots"]);
    // The cache remembers the key that opened the repository, so it is tried first next time.
    env.fresh_cache();
    env.ok(["--key-hint", &ours[..8], "snapshots"]);
    let out = env.run(["snapshots"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong password gives up after the limit instead of trying every file.
    let out = env
        .cmd()
        .env("BACKSTOCK_PASSWORD", "wrong")
        .arg("--no-cache")
        .arg("snapshots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(12));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stopped after trying 20"), "{err}");
    assert_no_panic(&err);
}

/// Issue 8, point 11: one damaged snapshot file or a stray file in `snapshots/` does not stop
/// commands about other snapshots; it is named; `forget` removes it by ID; prune refuses to run
/// while it is there.
#[test]
fn a_damaged_snapshot_file_stops_nothing_else() {
    let env = Env::init();
    let data = env.path("data");
    write(&data.join("a.txt"), b"one");
    let good = env.backup(&["data"]);
    write(&data.join("a.txt"), b"two");
    let bad = env.backup(&["data"]);
    flip_byte(&env.repo.join("snapshots").join(&bad), 40);
    write(&env.repo.join("snapshots/README.txt"), b"not a snapshot");
    let out = env.run(["snapshots", "--json"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&bad) && err.contains("README.txt"), "{err}");
    assert!(err.contains("repair snapshots"), "{err}");
    let listed: Vec<String> = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, vec![good.clone()]);
    write(&data.join("a.txt"), b"three");
    env.backup(&["data"]);
    let target = env.dir("restored");
    env.restore(&good, &target, &[]);
    assert_eq!(fs::read(target.join("data/a.txt")).unwrap(), b"one");
    env.ok(["ls", &good[..8]]);
    let err = env.fails(1, ["ls", &bad[..8]]);
    assert!(err.contains("repair snapshots"), "{err}");
    let err = env.fails(1, ["prune"]);
    assert!(
        err.contains("nothing was deleted") && err.contains(&bad),
        "{err}"
    );
    env.ok(["forget", &bad[..8]]);
    assert!(!env.repo.join("snapshots").join(&bad).exists());
}
