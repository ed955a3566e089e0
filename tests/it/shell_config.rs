//! Configuration and the shell: profiles (`-P NAME`), completions and man pages, `version`,
//! `cache [--cleanup]`, `key add --host/--user` and `--json` from key commands, and `forget
//! --prune --json` as one document.

use crate::util::*;
use serde_json::Value;
use std::fs;
use std::process::Command;

/// The binary with the test environment but no repository or password of its own: the profile
/// gives them. `XDG_CONFIG_HOME` points into the test directory.
fn profiled(env: &Env) -> std::process::Command {
    let mut c = env.std_cmd();
    c.env_remove("BACKSTOCK_REPOSITORY")
        .env_remove("BACKSTOCK_PASSWORD")
        .env("XDG_CONFIG_HOME", env.path("config"));
    c
}

fn out_of(mut c: std::process::Command, args: &[&str]) -> (i32, String, String) {
    let o = c.args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_profile_gives_repository_password_sources_and_retention_and_flags_win() {
    let env = Env::init();
    let src = env.path("src");
    write(&src.join("products/1.json"), "{}");
    write(&src.join("tmp/scratch.tmp"), "x");
    fs::write(env.path("pw"), format!("{PASSWORD}\n")).unwrap();
    let dir = env.path("config/backstock");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("shop.toml"),
        format!(
            r#"# the shop's nightly backup
[repository]
repository = "{repo}"
password-file = "{pw}"

[backup]
sources = ["{src}"]
exclude = ["*.tmp"]
tags = ["daily"]
host = "my-shop"
forget = true

[forget]
keep-last = 2
prune = true
"#,
            repo = env.repo.display(),
            pw = env.path("pw").display(),
            src = src.display()
        ),
    )
    .unwrap();
    for _ in 0..3 {
        let (code, out, err) = out_of(profiled(&env), &["-P", "shop", "backup"]);
        assert_eq!(code, 0, "{out}{err}");
    }
    let snaps = env.snapshots(&[]);
    assert_eq!(snaps.len(), 2, "keep-last 2 after each backup: {snaps:?}");
    for s in &snaps {
        assert_eq!(s["tags"], serde_json::json!(["daily"]));
        assert_eq!(s["hostname"], "my-shop");
    }
    let ls = env.ls("latest");
    assert!(ls.iter().any(|l| l.ends_with("products/1.json")), "{ls:?}");
    assert!(!ls.iter().any(|l| l.ends_with(".tmp")), "{ls:?}");
    // Flags and variables win: a tag more, another host, and forget's own policy.
    let (code, _, err) = out_of(
        profiled(&env),
        &[
            "-P",
            "shop",
            "backup",
            "--tag",
            "manual",
            "--host",
            "elsewhere",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let last = env.snapshots(&["--host", "elsewhere"]);
    assert_eq!(last[0]["tags"], serde_json::json!(["daily", "manual"]));
    let (code, out, _) = out_of(
        profiled(&env),
        &[
            "-P",
            "shop",
            "--json",
            "forget",
            "--keep-last",
            "10",
            "--prune",
        ],
    );
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).expect("forget --prune --json is one document");
    assert!(
        doc["forget"].is_array() && doc["prune"].is_object(),
        "{doc}"
    );
    // A path works as well as a name; BACKSTOCK_REPOSITORY wins over the file.
    let other = Env::init();
    let mut c = profiled(&env);
    c.env("BACKSTOCK_REPOSITORY", &other.repo);
    let (code, _, err) = out_of(
        c,
        &["-P", dir.join("shop.toml").to_str().unwrap(), "backup"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(other.snapshots(&[]).len(), 1);
}

#[test]
fn a_bad_or_missing_profile_is_a_clear_error() {
    let env = Env::init();
    let dir = env.path("config/backstock");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("typo.toml"), "[backup]\nsource = [\"/srv\"]\n").unwrap();
    let (code, _, err) = out_of(profiled(&env), &["-P", "typo", "snapshots"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("typo.toml") && err.contains("unknown field `source`"),
        "{err}"
    );
    let (code, _, err) = out_of(profiled(&env), &["-P", "nope", "snapshots"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("reading profile") && err.contains("nope.toml"),
        "{err}"
    );
    fs::write(dir.join("noforget.toml"), "[backup]\nforget = true\n").unwrap();
    write(&env.path("src/f"), "f");
    let mut c = profiled(&env);
    c.env("BACKSTOCK_REPOSITORY", &env.repo)
        .env("BACKSTOCK_PASSWORD", PASSWORD);
    let (code, _, err) = out_of(c, &["-P", "noforget", "backup", "src"]);
    assert_eq!(code, 1);
    assert!(err.contains("sets no keep-* rule"), "{err}");
}

#[test]
fn completions_man_pages_and_version() {
    let env = Env::new();
    let bash = env.ok_bytes(["generate", "completions", "bash"]);
    fs::write(env.path("c.bash"), &bash).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; complete -p backstock",
            env.path("c.bash").display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("backstock"));
    for shell in ["zsh", "fish"] {
        let s = String::from_utf8(env.ok_bytes(["generate", "completions", shell])).unwrap();
        assert!(s.contains("restore") && s.contains("overwrite"), "{shell}");
    }
    let man = env.path("man");
    env.ok(["generate", "man", man.to_str().unwrap()]);
    let page = fs::read_to_string(man.join("backstock-restore.1")).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH"),
        "{}",
        &page[..200]
    );
    assert!(page.contains("overwrite"));
    assert!(man.join("backstock.1").exists() && man.join("backstock-backup.1").exists());
    let v = env.json(["--json", "version"]);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(env
        .ok(["version"])
        .starts_with(&format!("backstock {}", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn cache_lists_and_cleans_up_old_caches() {
    let env = Env::init();
    write(&env.path("src/f"), "f");
    env.backup(&["src"]);
    // A cache of another repository, last used 60 days ago, and a directory that is no cache.
    let old = env.cache.join("ab".repeat(32));
    fs::create_dir_all(&old).unwrap();
    fs::write(old.join("cache.redb"), vec![0u8; 4096]).unwrap();
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(60 * 86_400);
    filetime::set_file_mtime(&old, filetime::FileTime::from_system_time(then)).unwrap();
    fs::create_dir_all(env.cache.join("mine")).unwrap();
    let listed = env.json(["--json", "cache"]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let text = env.ok(["cache"]);
    assert!(text.contains("(old)"), "{text}");
    let cleaned = env.json(["--json", "cache", "--cleanup"]);
    assert_eq!(cleaned["removed"].as_array().unwrap().len(), 1, "{cleaned}");
    assert!(!old.exists());
    assert!(env.cache.join("mine").exists());
    assert_eq!(env.json(["--json", "cache"]).as_array().unwrap().len(), 1);
}

#[test]
fn keys_record_the_host_and_user_given_and_print_json() {
    let env = Env::init();
    fs::write(env.path("new-pw"), "second password\n").unwrap();
    let added = env.json([
        "--json",
        "key",
        "add",
        "--new-password-file",
        env.path("new-pw").to_str().unwrap(),
        "--host",
        "laptop",
        "--user",
        "merchant",
    ]);
    let id = added["added"].as_str().unwrap().to_string();
    let keys = env.json(["--json", "key", "list"]);
    let k = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap();
    assert_eq!(k["host"], "laptop");
    assert_eq!(k["user"], "merchant");
    let removed = env.json(["--json", "key", "remove", &id[..8]]);
    assert_eq!(removed["removed"], id.as_str());
    // passwd: the new key records what is given, and the old password no longer opens.
    fs::write(env.path("third-pw"), "third password\n").unwrap();
    let changed = env.json([
        "--json",
        "key",
        "passwd",
        "--new-password-file",
        env.path("third-pw").to_str().unwrap(),
        "--host",
        "shop-server",
        "--user",
        "backup",
    ]);
    let new_id = changed["added"].as_str().unwrap().to_string();
    let mut c = env.std_cmd();
    c.env("BACKSTOCK_PASSWORD", "third password");
    let (code, out, err) = out_of(c, &["--json", "key", "list"]);
    assert_eq!(code, 0, "{err}");
    let keys: Value = serde_json::from_str(&out).unwrap();
    let k = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == new_id.as_str())
        .unwrap();
    assert_eq!(
        (&k["host"], &k["user"]),
        (&Value::from("shop-server"), &Value::from("backup"))
    );
    assert_eq!(
        env.run(["snapshots"]).status.code(),
        Some(12),
        "the old password still opens"
    );
}

/// Every global option has its BACKSTOCK_ variable; a flag wins over it.
#[test]
fn global_options_come_from_backstock_variables_too() {
    let env = Env::init();
    write(&env.path("src/f"), "f");
    let run = |vars: &[(&str, &str)], args: &[&str]| {
        let mut c = env.std_cmd();
        for (k, v) in vars {
            c.env(k, v);
        }
        out_of(c, args)
    };
    let (code, out, _) = run(&[("BACKSTOCK_JSON", "true")], &["backup", "src"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("BACKSTOCK_JSON gives JSON");
    assert!(v["snapshot_id"].is_string());
    let (_, out, _) = run(&[("BACKSTOCK_QUIET", "1")], &["backup", "src"]);
    assert_eq!(out, "", "BACKSTOCK_QUIET prints nothing");
    let (_, out, _) = run(&[("BACKSTOCK_JSON", "false")], &["snapshots"]);
    assert!(out.contains("snapshots"), "a false value is off: {out}");
    // BACKSTOCK_CACHE_DIR names the cache `cache` lists (the test's own --cache-dir flag wins
    // elsewhere, so it is left out here).
    let dir = env.path("other-cache");
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("backstock"));
    c.env("BACKSTOCK_CACHE_DIR", &dir)
        .env("BACKSTOCK_REPOSITORY", &env.repo)
        .env("BACKSTOCK_PASSWORD", PASSWORD)
        .env_remove("BACKSTOCK_NO_CACHE");
    let (code, _, err) = out_of(c, &["snapshots"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        fs::read_dir(&dir).unwrap().next().is_some(),
        "no cache made in BACKSTOCK_CACHE_DIR"
    );
    let (code, _, err) = run(&[("BACKSTOCK_RETRY_LOCK", "soon")], &["snapshots"]);
    assert_eq!(code, 1);
    assert!(err.contains("soon"), "{err}");
    let (code, _, _) = run(&[("BACKSTOCK_TIMEOUT", "2m")], &["snapshots"]);
    assert_eq!(code, 0);
    let (code, _, err) = run(&[("BACKSTOCK_KEY_HINT", "abcd")], &["snapshots"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--key-hint \"abcd\" matches no key file"),
        "{err}"
    );
}
