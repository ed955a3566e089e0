use super::*;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::SystemTime;

fn small(seed: u64) -> StoreParams {
    StoreParams {
        products: 40,
        customers: 20,
        orders_per_day: 4,
        media_per_product: 0.3,
        seed,
        edit_rate: 0.1,
        add_rate: 0.05,
        delete_rate: 0.05,
        customer_edit_rate: 0.1,
        theme_edit_every_days: 1,
    }
}

/// Relative path -> (content hash, mtime) of every file under `root`.
fn tree(root: &Path) -> Result<BTreeMap<PathBuf, (u64, SystemTime)>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("read {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let mut h = DefaultHasher::new();
            fs::read(&path)
                .with_context(|| format!("read {}", path.display()))?
                .hash(&mut h);
            let mtime = fs::metadata(&path)?.modified()?;
            out.insert(path.strip_prefix(root)?.to_path_buf(), (h.finish(), mtime));
        }
    }
    Ok(out)
}

fn hashes(root: &Path) -> Result<BTreeMap<PathBuf, u64>> {
    Ok(tree(root)?.into_iter().map(|(p, (h, _))| (p, h)).collect())
}

#[test]
fn same_seed_gives_identical_trees() -> Result<()> {
    let (a, b, c) = (
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    );
    let (mut ga, mut gb) = (StoreGenerator::new(small(7)), StoreGenerator::new(small(7)));
    assert_eq!(ga.write_initial(a.path())?, gb.write_initial(b.path())?);
    let initial = hashes(a.path())?;
    assert_eq!(initial, hashes(b.path())?);
    for _ in 0..3 {
        assert_eq!(ga.advance_day(a.path())?, gb.advance_day(b.path())?);
    }
    assert_eq!(ga.day(), 3);
    assert_eq!(hashes(a.path())?, hashes(b.path())?);
    assert_ne!(hashes(a.path())?, initial);
    StoreGenerator::new(small(8)).write_initial(c.path())?;
    assert_ne!(hashes(c.path())?, initial);
    Ok(())
}

#[test]
fn advance_day_rewrites_only_the_expected_files() -> Result<()> {
    let params = StoreParams {
        products: 2000,
        customers: 50,
        orders_per_day: 3,
        media_per_product: 0.0,
        theme_edit_every_days: 1,
        ..StoreParams::default()
    };
    let dir = tempfile::tempdir()?;
    let mut g = StoreGenerator::new(params.clone());
    assert!(g.advance_day(dir.path()).is_err());
    g.write_initial(dir.path())?;
    let before = tree(dir.path())?;
    let stats = g.advance_day(dir.path())?;
    let after = tree(dir.path())?;
    let in_dir = |p: &Path, d: &str| p.starts_with(d);
    let changed = |d: &str| {
        before
            .iter()
            .filter(|(p, (h, _))| in_dir(p, d) && after.get(*p).is_some_and(|a| a.0 != *h))
            .count()
    };
    let added = |d: &str| {
        after
            .keys()
            .filter(|p| in_dir(p, d) && !before.contains_key(*p))
            .count()
    };
    let removed = before
        .keys()
        .filter(|p| in_dir(p, "products") && !after.contains_key(*p))
        .count();
    let n = params.products as f64;
    let near = |got: usize, want: f64| (got as f64 - want).abs() <= 2.0;
    assert!(
        near(changed("products"), n * params.edit_rate),
        "edited {}",
        changed("products")
    );
    assert!(
        near(added("products"), n * params.add_rate),
        "added {}",
        added("products")
    );
    assert!(near(removed, n * params.delete_rate), "removed {removed}");
    assert_eq!(stats.files_deleted, removed);
    assert_eq!(added("orders"), params.orders_per_day);
    assert_eq!(changed("theme"), 1);
    assert!(changed("customers") <= 3);
    assert_eq!(changed("products.jsonl"), 1);
    // Files whose content did not change were not rewritten.
    for (p, (h, mtime)) in &before {
        if let Some((h2, mtime2)) = after.get(p) {
            if h == h2 && !p.starts_with("products.jsonl") {
                assert_eq!(mtime, mtime2, "{} was rewritten", p.display());
            }
        }
    }
    let files = after.keys().filter(|p| in_dir(p, "products")).count();
    assert_eq!(files, g.product_paths().len());
    Ok(())
}

#[test]
fn media_files_have_real_magic_bytes() -> Result<()> {
    let params = StoreParams {
        products: 24,
        customers: 4,
        media_per_product: 1.5,
        ..small(11)
    };
    let dir = tempfile::tempdir()?;
    let mut g = StoreGenerator::new(params);
    g.write_initial(dir.path())?;
    let media = tree(&dir.path().join("media"))?;
    assert!(media.len() > 10, "only {} media files", media.len());
    let mut referenced = BTreeSet::new();
    for rel in g.product_paths() {
        let doc: Value = serde_json::from_slice(&fs::read(dir.path().join(rel))?)?;
        for img in doc["images"].as_array().into_iter().flatten() {
            referenced.insert(PathBuf::from(img["src"].as_str().unwrap_or_default()));
        }
    }
    for p in media.keys() {
        assert!(
            referenced.contains(&Path::new("media").join(p)),
            "{} unreferenced",
            p.display()
        );
        let bytes = fs::read(dir.path().join("media").join(p))?;
        assert!(
            (30 << 10..=3 << 20).contains(&bytes.len()),
            "size {}",
            bytes.len()
        );
        match p.extension().and_then(|e| e.to_str()) {
            Some("jpg") => assert!(bytes.starts_with(b"\xFF\xD8\xFF\xE0\x00\x10JFIF\0")),
            Some("png") => {
                assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"));
            }
            Some("webp") => {
                assert!(bytes.starts_with(b"RIFF") && &bytes[8..16] == b"WEBPVP8 ");
                let riff = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
                assert_eq!(riff as usize, bytes.len() - 8);
            }
            other => panic!("unexpected media extension {other:?}"),
        }
    }
    assert_eq!(referenced.len(), media.len());
    Ok(())
}

#[test]
fn jsonl_has_one_product_line_per_product() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut g = StoreGenerator::new(small(3));
    g.write_initial(dir.path())?;
    g.advance_day(dir.path())?;
    g.advance_day(dir.path())?;
    let text = fs::read_to_string(dir.path().join("products.jsonl"))?;
    let mut products = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line)?;
        let id = v["id"].as_str().unwrap_or_default().to_string();
        match v.get("__parentId").and_then(Value::as_str) {
            None => products.push(id.rsplit('/').next().unwrap_or_default().to_string()),
            Some(parent) => assert!(products
                .last()
                .is_some_and(|p| parent.ends_with(&format!("/{p}")))),
        }
    }
    let expected: Vec<String> = g
        .product_paths()
        .iter()
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(String::from))
        .collect();
    assert_eq!(products, expected);
    let on_disk = fs::read_dir(dir.path().join("products"))?.count();
    assert_eq!(on_disk, expected.len());
    Ok(())
}
