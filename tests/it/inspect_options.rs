//! The listing commands' restic options: `snapshots` IDs, `--latest N`, `--group-by`, `-c`;
//! `find` by blob, tree or pack ID, by modification time, ignoring case; `diff --metadata`
//! (in `inspect::`); `stats --mode files-by-contents|blobs-per-file`; `ls -l` special bits and
//! `ls --json` times with their zone.

use crate::util::*;
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn ids_of(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn snapshots_by_id_latest_per_group_and_grouped() {
    let env = Env::init();
    write(&env.path("a/f"), "a");
    write(&env.path("b/f"), "b");
    let mut a = Vec::new();
    for i in 0..3 {
        a.push(env.backup(&["--host", "h1", "--tag", &format!("t{i}"), "a"]));
    }
    let b = env.backup(&["--host", "h2", "b"]);
    let all = env.json(["--json", "snapshots"]);
    assert_eq!(ids_of(&all).len(), 4);
    // IDs as arguments (a prefix and latest), oldest first.
    let two = env.json(["--json", "snapshots", &a[1][..8], "latest"]);
    assert_eq!(ids_of(&two), [a[1].clone(), b.clone()]);
    // --latest N: per host and paths.
    let latest = env.json(["--json", "snapshots", "--latest", "2"]);
    assert_eq!(ids_of(&latest), [a[1].clone(), a[2].clone(), b.clone()]);
    // --group-by: groups with their keys.
    let grouped = env.json(["--json", "snapshots", "--group-by", "host"]);
    let groups = grouped.as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["group_key"]["hostname"], "h1");
    assert!(groups[0]["group_key"]["paths"].is_null());
    assert_eq!(ids_of(&groups[0]["snapshots"]), a);
    let text = env.ok(["snapshots", "--group-by", "host", "--latest", "1", "-c"]);
    assert!(text.contains("snapshots for host [h1]:"), "{text}");
    assert!(
        text.contains(&a[2][..8]) && !text.contains(&a[1][..8]),
        "{text}"
    );
    assert!(
        !text.contains("Paths"),
        "compact has no paths column: {text}"
    );
    let e = env.fails(1, ["snapshots", "--group-by", "color"]);
    assert!(e.contains("invalid --group-by field"), "{e}");
}

#[test]
fn find_by_id_by_time_and_ignoring_case() {
    let env = Env::init();
    let shop = env.path("shop");
    write(&shop.join("products/Mug.JSON"), product_json("mug", 3000));
    write(&shop.join("products/hat.json"), product_json("hat", 3000));
    filetime::set_file_mtime(
        shop.join("products/hat.json"),
        filetime::FileTime::from_unix_time(1_500_000_000, 0),
    )
    .unwrap();
    env.backup(&["shop"]);
    let node = env.node("latest", "shop/products/Mug.JSON");
    let blob = node["content"][0].as_str().unwrap().to_string();
    let paths = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["matches"].as_array().unwrap().iter())
            .map(|m| m["path"].as_str().unwrap().to_string())
            .collect()
    };
    let by_blob = env.json(["--json", "find", "--blob", &blob]);
    assert_eq!(paths(&by_blob), ["/shop/products/Mug.JSON"]);
    let dir = env.node("latest", "shop/products");
    let tree = dir["content"][0].as_str().unwrap().to_string();
    assert_eq!(
        paths(&env.json(["--json", "find", "--tree", &tree])),
        ["/shop/products"]
    );
    let (pack, _) = env.find_blob(&blob);
    let pack_id = pack.file_name().unwrap().to_str().unwrap().to_string();
    let in_pack = paths(&env.json(["--json", "find", "--pack", &pack_id]));
    assert!(
        in_pack.contains(&"/shop/products/Mug.JSON".to_string()),
        "{in_pack:?}"
    );
    assert_eq!(
        paths(&env.json(["--json", "find", "-i", "*.json"])),
        ["/shop/products/Mug.JSON", "/shop/products/hat.json"]
    );
    assert_eq!(
        paths(&env.json(["--json", "find", "*.json", "--newest", "2018-01-01"])),
        ["/shop/products/hat.json"]
    );
    assert_eq!(
        paths(&env.json([
            "--json",
            "find",
            "*",
            "--oldest",
            "2018-01-01 00:00:00",
            "-i"
        ]))
        .iter()
        .filter(|p| p.ends_with(".json") || p.ends_with(".JSON"))
        .count(),
        1
    );
    let e = env.fails(1, ["find", "--blob", "abc"]);
    assert!(e.contains("not a full blob ID"), "{e}");
    let e = env.fails(1, ["find", "*", "--newest", "yesterday"]);
    assert!(e.contains("YYYY-MM-DD"), "{e}");
}

#[test]
fn stats_by_contents_counts_each_content_once() {
    let env = Env::init();
    let body = product_json("same", 5000);
    for name in ["a.json", "b.json", "c.json"] {
        write(&env.path("src").join(name), &body);
    }
    write(&env.path("src/other.json"), product_json("other", 5000));
    env.backup(&["src"]);
    env.backup(&["src"]);
    let size = (body.len() + product_json("other", 5000).len()) as u64;
    let by = env.json(["--json", "stats", "--mode", "files-by-contents"]);
    assert_eq!(by["total_file_count"], 2, "{by}");
    assert_eq!(by["total_size"], size);
    let per = env.json(["--json", "stats", "--mode", "blobs-per-file"]);
    assert_eq!(per["total_file_count"], 2);
    assert!(per["total_blob_count"].as_u64().unwrap() >= 2, "{per}");
    let restore = env.json(["--json", "stats"]);
    assert_eq!(restore["total_file_count"], 8);
}

#[test]
fn ls_long_shows_special_bits_and_json_times_carry_their_zone() {
    let env = Env::init();
    let src = env.path("src");
    write(&src.join("suid"), "x");
    fs::set_permissions(src.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::create_dir_all(src.join("sticky")).unwrap();
    fs::set_permissions(src.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
    write(&src.join("setgid-noexec"), "y");
    fs::set_permissions(
        src.join("setgid-noexec"),
        fs::Permissions::from_mode(0o2644),
    )
    .unwrap();
    env.backup(&["src"]);
    let long = env.ok(["ls", "-l", "latest"]);
    let line = |name: &str| {
        long.lines()
            .find(|l| l.ends_with(&format!("/src/{name}")))
            .unwrap_or_else(|| panic!("{name}: {long}"))
            .to_string()
    };
    assert!(line("suid").starts_with("-rwsr-xr-x"), "{long}");
    assert!(line("sticky").starts_with("drwxrwxrwt"), "{long}");
    assert!(line("setgid-noexec").starts_with("-rw-r-Sr--"), "{long}");
    let json = env.ok(["--json", "ls", "latest:src/suid"]);
    let v: Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    let mtime = v["mtime"].as_str().unwrap();
    let parsed = chrono::DateTime::parse_from_rfc3339(mtime).unwrap();
    let disk = fs::metadata(src.join("suid")).unwrap().modified().unwrap();
    let disk: chrono::DateTime<chrono::Utc> = disk.into();
    assert_eq!(
        parsed.timestamp_nanos_opt(),
        disk.timestamp_nanos_opt(),
        "{mtime}"
    );
    assert_eq!(v["permissions"], "-rwsr-xr-x");
}
