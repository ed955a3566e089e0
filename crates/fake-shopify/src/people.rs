//! Customers and orders of the generated store (day 0 and each simulated day), with their
//! addresses.

use crate::handles::slug;
use crate::metafields::metafield;
use crate::model::*;
use crate::streams::pick;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivan", "Júlia", "Kofi", "Lena",
];
const LAST: &[&str] = &[
    "Lovelace", "Okafor", "Martin", "Nguyen", "Schmidt", "O'Brien", "García", "Tanaka", "Kowalski",
];
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("New York", "New York", "NY", "100"),
    ("Austin", "Texas", "TX", "787"),
    ("Portland", "Oregon", "OR", "972"),
    ("Denver", "Colorado", "CO", "802"),
    ("Chicago", "Illinois", "IL", "606"),
];
const STREETS: &[&str] = &["Main St", "Oak Ave", "Maple Rd", "2nd St", "Elm Blvd"];

/// A random address with a fresh ID.
pub(crate) fn address(
    ids: &mut IdAllocator,
    rng: &mut impl Rng,
    first: &str,
    last: &str,
) -> Address {
    let (city, province, code, zip) = *pick(rng, CITIES);
    Address {
        id: ids.next(Kind::Address),
        first_name: first.into(),
        last_name: last.into(),
        company: rng.gen_bool(0.2).then(|| "Initech".to_string()),
        address1: format!("{} {}", rng.gen_range(1..999), pick(rng, STREETS)),
        address2: rng
            .gen_bool(0.3)
            .then(|| format!("Apt {}", rng.gen_range(1..40))),
        city: city.into(),
        province: province.into(),
        province_code: code.into(),
        country: "United States".into(),
        country_code: "US".into(),
        zip: format!("{zip}{:02}", rng.gen_range(0..100)),
        phone: rng
            .gen_bool(0.4)
            .then(|| format!("+1212555{:04}", rng.gen_range(0..10_000))),
    }
}

/// Makes a customer created at `created` and inserts it.
pub(crate) fn add_customer(store: &mut Store, rng: &mut ChaCha8Rng, created: i64) -> u64 {
    let id = store.ids.next(Kind::Customer);
    let first = pick(rng, FIRST).to_string();
    let last = pick(rng, LAST).to_string();
    let n = (id - 7_600_000_000_000) / 1021;
    let addresses = (0..[0, 1, 1, 1, 2][rng.gen_range(0..5)])
        .map(|_| address(&mut store.ids, rng, &first, &last))
        .collect();
    let email = rng
        .gen_bool(0.95)
        .then(|| format!("{}.{}{n}@example.com", slug(&first), slug(&last)));
    let metafields = if rng.gen_bool(0.2) {
        vec![metafield(
            &mut store.ids,
            "custom",
            "birthday",
            "date",
            format!(
                "19{:02}-0{}-1{}",
                rng.gen_range(50..99),
                rng.gen_range(1..10),
                rng.gen_range(0..10)
            ),
        )]
    } else {
        Vec::new()
    };
    let at = iso(created);
    let customer = Customer {
        id,
        marketing_state: if rng.gen_bool(0.4) {
            "SUBSCRIBED"
        } else {
            "NOT_SUBSCRIBED"
        }
        .into(),
        verified_email: email.is_some(),
        email,
        phone: rng
            .gen_bool(0.6)
            .then(|| format!("+1646555{:04}", n % 10_000)),
        note: rng
            .gen_bool(0.3)
            .then(|| "Prefers email contact.".to_string()),
        tags: if rng.gen_bool(0.2) {
            vec!["vip".into()]
        } else {
            Vec::new()
        },
        state: "ENABLED".into(),
        tax_exempt: rng.gen_bool(0.05),
        first_name: first,
        last_name: last,
        addresses,
        number_of_orders: 0,
        amount_spent_cents: 0,
        metafields,
        created_at: at.clone(),
        updated_at: at,
    };
    store.customers.insert(id, customer);
    id
}

/// Places an order at `created` and inserts it (updating its customer); `None` if no product has a
/// variant to order.
pub(crate) fn add_order(store: &mut Store, rng: &mut ChaCha8Rng, created: i64) -> Option<u64> {
    let product_ids: Vec<u64> = store.products.keys().copied().collect();
    if product_ids.is_empty() {
        return None;
    }
    let customer_ids: Vec<u64> = store.customers.keys().copied().collect();
    let customer_id = if customer_ids.is_empty() || rng.gen_bool(0.1) {
        None
    } else {
        Some(*pick(rng, &customer_ids))
    };
    let id = store.ids.next(Kind::Order);
    let mut lines = Vec::new();
    for _ in 0..rng.gen_range(1..4) {
        let product = &store.products[pick(rng, &product_ids)];
        let variant = pick(rng, &product.variants);
        let quantity = rng.gen_range(1..4);
        lines.push((
            format!("{} - {}", product.title, variant.title),
            variant.id,
            variant.sku.clone(),
            quantity,
            variant.price.clone(),
        ));
    }
    let lines: Vec<LineItem> = lines
        .into_iter()
        .map(|(name, variant_id, sku, quantity, unit_price)| LineItem {
            id: store.ids.next(Kind::LineItem),
            name,
            variant_id,
            sku,
            quantity,
            unit_price,
        })
        .collect();
    let subtotal: i64 = lines
        .iter()
        .map(|l| parse_money(&l.unit_price).unwrap_or(0) * l.quantity)
        .sum();
    let tax = subtotal * 8 / 100;
    let (email, phone, (first, last), default) =
        match customer_id.and_then(|c| store.customers.get(&c)) {
            Some(c) => (
                c.email.clone(),
                c.phone.clone(),
                (c.first_name.clone(), c.last_name.clone()),
                c.addresses.first().cloned(),
            ),
            None => (
                Some(format!("guest{}@example.net", id % 100_000)),
                None,
                (pick(rng, FIRST).to_string(), pick(rng, LAST).to_string()),
                None,
            ),
        };
    let shipping = match default {
        Some(a) => Address {
            id: store.ids.next(Kind::Address),
            ..a
        },
        None => address(&mut store.ids, rng, &first, &last),
    };
    let billing = Address {
        id: store.ids.next(Kind::Address),
        ..shipping.clone()
    };
    let fulfilled = rng.gen_bool(0.7);
    let at = iso(created);
    let number = store.next_order_number;
    store.next_order_number += 1;
    let order = Order {
        id,
        name: format!("#{number}"),
        customer_id,
        email,
        phone,
        shipping_address: Some(shipping),
        billing_address: Some(billing),
        line_items: lines,
        subtotal: money(subtotal),
        total_tax: money(tax),
        total: money(subtotal + tax),
        financial_status: "PAID".into(),
        fulfillment_status: if fulfilled {
            "FULFILLED"
        } else {
            "UNFULFILLED"
        }
        .into(),
        tags: Vec::new(),
        note: rng.gen_bool(0.1).then(|| "Gift wrap, please.".to_string()),
        created_at: at.clone(),
        updated_at: at.clone(),
        closed_at: fulfilled.then(|| at.clone()),
    };
    if let Some(c) = customer_id.and_then(|c| store.customers.get_mut(&c)) {
        c.number_of_orders += 1;
        c.amount_spent_cents += subtotal + tax;
        if at > c.updated_at {
            c.updated_at = at;
        }
    }
    store.orders.insert(id, order);
    Some(id)
}
