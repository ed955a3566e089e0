//! `shopify erase-customer`: after it, no snapshot holds a byte of the customer's folder (no
//! restore, dump, find or tree listing returns it; its blobs are gone from the index), and every
//! other file of every snapshot restores as it was.

use crate::shopify::{backup, contents, shop_with, SHOP};
use crate::util::*;
use fake_shopify::StoreParams;
use std::fs;
use std::path::Path;

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            let bytes = fs::read(p).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn erase_customer_leaves_no_trace_of_them_and_every_other_file_as_it_was() {
    let env = Env::init();
    let fake = shop_with(StoreParams {
        products: 15,
        customers: 8,
        orders: 30,
        seed: 5,
        ..Default::default()
    });
    for day in 0..3 {
        if day > 0 {
            fake.advance();
        }
        backup(&env, &fake);
    }
    // A customer with orders, in every snapshot.
    let (customer, email) = fake.model(|s| {
        let c = s
            .customers
            .values()
            .find(|c| s.orders.values().any(|o| o.customer_id == Some(c.id)) && c.email.is_some())
            .expect("a customer with an order");
        (c.id.to_string(), c.email.clone().unwrap())
    });
    let snaps = env.snapshots(&[]);
    assert_eq!(snaps.len(), 3);
    let folder = format!("export/customers/{customer}");
    let tree_ids: Vec<String> = snaps
        .iter()
        .flat_map(|s| ids(&env.node(s["id"].as_str().unwrap(), &folder)["content"]))
        .collect();
    // What every snapshot holds, less the customer's folder.
    let mut before = Vec::new();
    for (i, s) in snaps.iter().enumerate() {
        let target = env.dir(&format!("before-{i}"));
        env.restore(s["id"].as_str().unwrap(), &target, &[]);
        assert!(
            !files_containing(&target, &email).is_empty(),
            "the customer is in snapshot {i}"
        );
        fs::remove_dir_all(target.join(&folder)).unwrap();
        assert!(
            files_containing(&target, &email).is_empty(),
            "{email} outside {folder}"
        );
        before.push(target);
    }

    let r = env.json([
        "--json",
        "shopify",
        "erase-customer",
        &customer,
        "--host",
        SHOP,
        "--out",
        "export",
    ]);
    assert_eq!(r["rewritten"].as_array().unwrap().len(), 3, "{r}");
    assert!(r["blobs_found"].as_u64().unwrap() >= 3, "{r}");
    assert_eq!(r["blobs_left"], 0, "{r}");
    assert_eq!(r["export_folder_removed"], true);
    assert!(!env.path(&folder).exists());

    let after = env.snapshots(&[]);
    assert_eq!(after.len(), 3);
    for (i, s) in after.iter().enumerate() {
        let id = s["id"].as_str().unwrap();
        assert!(
            snaps.iter().all(|old| old["id"] != s["id"]),
            "an original is left"
        );
        let target = env.dir(&format!("after-{i}"));
        env.restore(id, &target, &[]);
        // Every other file comes back with the same bytes (folders' times differ: the customer's
        // was removed from the copy made before).
        assert!(
            contents(&before[i]) == contents(&target),
            "snapshot {i} differs"
        );
        assert!(files_containing(&target, &email).is_empty());
        let e = env.fails(1, ["dump", id, &format!("{folder}/customer.json")]);
        assert!(
            e.contains("does not exist") || e.contains("not found"),
            "{e}"
        );
    }
    let found = env.ok(["find", &customer]);
    assert!(
        !found.contains(&customer)
            || found
                .lines()
                .all(|l| !l.contains(&format!("/customers/{customer}"))),
        "{found}"
    );
    for t in tree_ids {
        let e = env.fails(1, ["cat", "tree", &t]);
        assert_no_panic(&e);
    }
    env.ok(["check", "--read-data"]);

    // Nothing left to erase: a second run finds nothing, and a bad ID is refused.
    let again = env.json(["--json", "shopify", "erase-customer", &customer]);
    assert_eq!(again["rewritten"].as_array().unwrap().len(), 0);
    let e = env.fails(1, ["shopify", "erase-customer", "../1"]);
    assert!(e.contains("not a customer"), "{e}");
}
