//! Pins what the generator and `advance` produce for the entities that existed before blogs,
//! menus, metaobjects, locations and files were added: the connector's tests depend on them, so
//! the new entities must draw from random streams and ID ranges of their own. The hashes were
//! computed before those entities were added; a change here means existing output moved.

use crate::bulk::{run, BulkOps};
use crate::theme_files::checksum_md5;
use crate::{advance_store, generate_store, DayChanges, Store, StoreParams};
use std::collections::BTreeSet;

/// The pre-existing entities of a store, bytes included, as one string.
fn existing_entities(s: &Store) -> String {
    let media: Vec<(u64, &Vec<u8>)> = s.media.values().map(|m| (m.id, &m.bytes)).collect();
    let themes: Vec<(u64, &std::collections::BTreeMap<String, Vec<u8>>)> =
        s.themes.values().map(|t| (t.id, &t.files)).collect();
    serde_json::to_string(&(
        (&s.shop, &s.products, &s.collections, &s.pages, &s.redirects),
        (&s.customers, &s.orders, &s.themes, &s.media),
        (media, themes, s.day, s.next_order_number),
    ))
    .unwrap()
}

/// The fields `DayChanges` had before the new entities.
fn existing_changes(c: &DayChanges) -> String {
    serde_json::to_string(&(
        &c.products_edited,
        &c.products_added,
        &c.products_deleted,
        &c.theme_files_edited,
        &c.customers_edited,
        &c.customers_added,
        &c.orders_added,
        &c.media_added,
    ))
    .unwrap()
}

/// Fixed copies of the connector's bulk queries (its `queries.rs` may grow meanwhile).
const QUERIES: &[&str] = &[
    "{ products { edges { node { id handle title descriptionHtml vendor productType status tags templateSuffix \
     createdAt updatedAt publishedAt seo { title description } options { id name position values } \
     variants { edges { node { id title sku barcode price compareAtPrice position taxable inventoryPolicy \
     inventoryQuantity selectedOptions { name value } inventoryItem { id } \
     metafields { edges { node { id namespace key type value } } } } } } \
     media { edges { node { id mediaContentType alt ... on MediaImage { image { url width height } \
     originalSource { url fileSize } } } } } metafields { edges { node { id namespace key type value } } } } } } }",
    "{ products { edges { node { id collections { edges { node { id handle } } } } } } }",
    "{ collections { edges { node { id handle title descriptionHtml sortOrder templateSuffix updatedAt \
     seo { title description } ruleSet { appliedDisjunctively rules { column relation condition } } \
     products { edges { node { id } } } metafields { edges { node { id namespace key type value } } } } } } }",
    "{ pages { edges { node { id handle title body bodySummary isPublished publishedAt templateSuffix \
     createdAt updatedAt metafields { edges { node { id namespace key type value } } } } } } }",
    "{ urlRedirects { edges { node { id path target } } } }",
    "{ customers { edges { node { id firstName lastName displayName note tags state taxExempt verifiedEmail \
     createdAt updatedAt numberOfOrders amountSpent { amount currencyCode } \
     defaultEmailAddress { emailAddress marketingState } defaultPhoneNumber { phoneNumber } \
     defaultAddress { id } addresses { id firstName lastName company address1 address2 city province \
     provinceCode country countryCodeV2 zip phone } metafields { edges { node { id namespace key type value } } } } } } }",
    "{ orders { edges { node { id name createdAt updatedAt processedAt cancelledAt closedAt \
     displayFinancialStatus displayFulfillmentStatus currencyCode tags note email phone customer { id } \
     shippingAddress { id city zip } billingAddress { id city zip } \
     subtotalPriceSet { shopMoney { amount currencyCode } } totalPriceSet { shopMoney { amount currencyCode } } \
     lineItems { edges { node { id name sku quantity variant { id } \
     originalUnitPriceSet { shopMoney { amount currencyCode } } } } } } } } }",
];

/// The JSONL of every fixed query, concatenated.
fn exports(s: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    for q in QUERIES {
        let Ok(r) = run(
            s,
            &BulkOps::default(),
            q,
            "http://127.0.0.1:1",
            &BTreeSet::new(),
        ) else {
            panic!("refused: {q}");
        };
        out.extend_from_slice(&r.jsonl);
    }
    out
}

/// Hashes of: the day-0 entities, their exports, and each of six days (entities and changes),
/// with rates high enough that products are added and deleted.
fn trail(seed: u64) -> Vec<String> {
    let p = StoreParams {
        products: 60,
        customers: 15,
        orders: 20,
        seed,
        edit_rate: 0.2,
        add_rate: 0.05,
        delete_rate: 0.05,
        customer_edit_rate: 0.2,
        orders_per_day: 3,
    };
    let mut s = generate_store(&p);
    let mut out = vec![
        checksum_md5(existing_entities(&s).as_bytes()),
        checksum_md5(&exports(&s)),
    ];
    for _ in 0..6 {
        let c = advance_store(&mut s, &p);
        out.push(checksum_md5(
            format!("{}{}", existing_entities(&s), existing_changes(&c)).as_bytes(),
        ));
    }
    out.push(checksum_md5(&exports(&s)));
    out
}

#[test]
fn existing_entities_are_unchanged() {
    let default = generate_store(&StoreParams::default());
    let got = (
        checksum_md5(existing_entities(&default).as_bytes()),
        checksum_md5(&exports(&default)),
        trail(7),
    );
    let want = (
        "b6937f917567b8a90646f0e06f65ba43".to_string(),
        "bbfea8cf97cea0a727228c67685ed8a4".to_string(),
        [
            "8fd359b85c555c9fb57640380e89449a",
            "d55b4bc05a6d5f2256af79819f65ea28",
            "d0b38ab65671e74fa447d0cdb1f8d46d",
            "f5e9ebd4e02756743807515c59d38ea9",
            "a180b9a83ecea21f6acadfe02fae8e69",
            "1df5f38dc3a59041dce4bacd80255e4e",
            "295fdae1981f8a4be2d57ffa03f3be3e",
            "d06f85c36cb5b2bb316cc739c8d08748",
            "78c1548ea758c500fe915bc150c29ae4",
        ]
        .map(String::from)
        .to_vec(),
    );
    assert_eq!(got, want, "existing entities moved");
}
