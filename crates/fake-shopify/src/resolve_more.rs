//! Field resolvers of the shop, customers, orders, themes and bulk operations.

use crate::bulk_ops::{BulkOp, BulkStatus};
use crate::exec::{gid, key, parse_gid, Ctx, GqlError, Obj, Out};
use crate::gql::Field;
use crate::model::*;
use crate::resolve::{address_json, plain, val};
use crate::theme_files::{checksum_md5, content_type};
use base64::Engine;
use serde_json::{json, Value};

/// Filenames matching a pattern where `*` matches any run of characters.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

fn money_bag(amount: &str) -> Out<'static> {
    Out::Obj(plain(
        "MoneyBag",
        json!({"shopMoney": {"__typename": "MoneyV2", "amount": amount, "currencyCode": "USD"},
               "presentmentMoney": {"__typename": "MoneyV2", "amount": amount, "currencyCode": "USD"}}),
    ))
}

fn address_out(a: Option<&Address>) -> Out<'static> {
    match a {
        Some(a) => match address_json(a) {
            Value::Object(m) => Out::Obj(Obj::Plain("MailingAddress", m)),
            _ => Out::Val(Value::Null),
        },
        None => Out::Val(Value::Null),
    }
}

impl<'a> Ctx<'a> {
    /// `productByIdentifier(identifier: {id} | {handle} | {customId: {namespace, key, value}})`:
    /// exactly one of the three; `None` when no product matches.
    pub(crate) fn product_by_identifier(&self, f: &Field) -> Result<Option<&'a Product>, GqlError> {
        let identifier = f.arg("identifier", self.vars).unwrap_or(Value::Null);
        let given: Vec<(&String, &Value)> = identifier
            .as_object()
            .map(|m| m.iter().filter(|(_, v)| !v.is_null()).collect())
            .unwrap_or_default();
        let store = self.store;
        match given.as_slice() {
            [(k, v)] if k.as_str() == "id" => {
                Ok(parse_gid("Product", v).and_then(|id| store.products.get(&id)))
            }
            [(k, Value::String(h))] if k.as_str() == "handle" => Ok(store.product_by_handle(h)),
            [(k, c)] if k.as_str() == "customId" && c.get("key").is_some() => {
                let text = |name: &str| c.get(name).and_then(Value::as_str);
                let namespace = text("namespace").unwrap_or("custom");
                Ok(store.products.values().find(|p| {
                    p.metafields.iter().any(|m| {
                        m.namespace == namespace
                            && Some(m.key.as_str()) == text("key")
                            && Some(m.value.as_str()) == text("value")
                    })
                }))
            }
            _ => Err(GqlError::new(
                "Variable $identifier of type ProductIdentifierInput! was provided invalid value: exactly one of id, handle or customId is required",
                Some("INVALID_VARIABLE"),
            )),
        }
    }

    pub(crate) fn shop_field(&mut self, f: &Field) -> Result<Out<'a>, GqlError> {
        let s = &self.store.shop;
        match f.name.as_str() {
            "id" => val!(gid("Shop", s.id)),
            "name" => val!(s.name),
            "email" => val!(s.email),
            "contactEmail" => val!(s.contact_email),
            "myshopifyDomain" => val!(s.myshopify_domain),
            "currencyCode" => val!(s.currency_code),
            "ianaTimezone" => val!(s.iana_timezone),
            "timezoneAbbreviation" => val!("EST"),
            "weightUnit" => val!(s.weight_unit),
            "url" => val!(format!("https://{}", s.myshopify_domain)),
            "enabledPresentmentCurrencies" => val!(["USD"]),
            "primaryDomain" => Ok(Out::Obj(plain(
                "Domain",
                json!({"id": gid("Domain", s.id + 1), "host": s.myshopify_domain, "url": format!("https://{}", s.myshopify_domain), "sslEnabled": true}),
            ))),
            "plan" => Ok(Out::Obj(plain(
                "ShopPlan",
                json!({"displayName": "Basic", "partnerDevelopment": false, "shopifyPlus": false}),
            ))),
            other => Err(GqlError::undefined_field("Shop", other)),
        }
    }

    pub(crate) fn customer_field(
        &mut self,
        c: &'a Customer,
        f: &Field,
    ) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "id" => val!(gid("Customer", c.id)),
            "legacyResourceId" => val!(c.id.to_string()),
            "firstName" => val!(c.first_name),
            "lastName" => val!(c.last_name),
            "displayName" => val!(format!("{} {}", c.first_name, c.last_name)),
            "email" => val!(c.email),
            "phone" => val!(c.phone),
            "note" => val!(c.note),
            "tags" => val!(c.tags),
            "state" => val!(c.state),
            "taxExempt" => val!(c.tax_exempt),
            "verifiedEmail" => val!(c.verified_email),
            "createdAt" => val!(c.created_at),
            "updatedAt" => val!(c.updated_at),
            "numberOfOrders" => val!(c.number_of_orders.to_string()),
            "amountSpent" => Ok(Out::Obj(plain(
                "MoneyV2",
                json!({"amount": money(c.amount_spent_cents), "currencyCode": "USD"}),
            ))),
            "defaultEmailAddress" => Ok(match &c.email {
                Some(e) => Out::Obj(plain(
                    "CustomerEmailAddress",
                    json!({"emailAddress": e, "marketingState": c.marketing_state, "marketingOptInLevel": if c.marketing_state == "SUBSCRIBED" { Value::from("SINGLE_OPT_IN") } else { Value::Null }, "marketingUpdatedAt": null}),
                )),
                None => Out::Val(Value::Null),
            }),
            "defaultPhoneNumber" => Ok(match &c.phone {
                Some(p) => Out::Obj(plain(
                    "CustomerPhoneNumber",
                    json!({"phoneNumber": p, "marketingState": "NOT_SUBSCRIBED", "marketingOptInLevel": null}),
                )),
                None => Out::Val(Value::Null),
            }),
            "defaultAddress" => Ok(address_out(c.addresses.first())),
            "addresses" => {
                let limit = f
                    .arg("first", self.vars)
                    .and_then(|v| v.as_u64())
                    .map_or(usize::MAX, |n| n as usize);
                Ok(Out::List(
                    c.addresses
                        .iter()
                        .take(limit)
                        .filter_map(|a| match address_out(Some(a)) {
                            Out::Obj(o) => Some(o),
                            _ => None,
                        })
                        .collect(),
                ))
            }
            "metafields" => {
                let ns = f.arg("namespace", self.vars);
                Ok(Out::Conn(
                    c.metafields
                        .iter()
                        .filter(|m| ns.as_ref().is_none_or(|n| n.as_str() == Some(&m.namespace)))
                        .map(|m| (key(m.id), Obj::Metafield(m)))
                        .collect(),
                ))
            }
            other => Err(GqlError::undefined_field("Customer", other)),
        }
    }

    pub(crate) fn order_field(&mut self, o: &'a Order, f: &Field) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "id" => val!(gid("Order", o.id)),
            "legacyResourceId" => val!(o.id.to_string()),
            "name" => val!(o.name),
            "createdAt" | "processedAt" => val!(o.created_at),
            "updatedAt" => val!(o.updated_at),
            "cancelledAt" | "cancelReason" => val!(null),
            "closedAt" => val!(o.closed_at),
            "closed" => val!(o.closed_at.is_some()),
            "confirmed" => val!(true),
            "test" => val!(false),
            "displayFinancialStatus" => val!(o.financial_status),
            "displayFulfillmentStatus" => val!(o.fulfillment_status),
            "currencyCode" | "presentmentCurrencyCode" => val!("USD"),
            "tags" => val!(o.tags),
            "note" => val!(o.note),
            "email" => val!(o.email),
            "phone" => val!(o.phone),
            "customer" => Ok(o
                .customer_id
                .and_then(|c| self.store.customers.get(&c))
                .map_or(Out::Val(Value::Null), |c| Out::Obj(Obj::Customer(c)))),
            "shippingAddress" => Ok(address_out(o.shipping_address.as_ref())),
            "billingAddress" => Ok(address_out(o.billing_address.as_ref())),
            "subtotalPriceSet" | "currentSubtotalPriceSet" => Ok(money_bag(&o.subtotal)),
            "totalPriceSet" | "currentTotalPriceSet" => Ok(money_bag(&o.total)),
            "totalTaxSet" | "currentTotalTaxSet" => Ok(money_bag(&o.total_tax)),
            "lineItems" => Ok(Out::Conn(
                o.line_items
                    .iter()
                    .map(|l| (key(l.id), Obj::LineItem(l)))
                    .collect(),
            )),
            "metafields" => Ok(Out::Conn(Vec::new())),
            other => Err(GqlError::undefined_field("Order", other)),
        }
    }

    fn variant_by_id(&mut self, id: u64) -> Option<(&'a Product, &'a Variant)> {
        let store = self.store;
        let index = self.variants.get_or_insert_with(|| {
            store
                .products
                .values()
                .flat_map(|p| p.variants.iter().map(move |v| (v.id, (p, v))))
                .collect()
        });
        index.get(&id).copied()
    }

    pub(crate) fn line_item_field(
        &mut self,
        l: &'a LineItem,
        f: &Field,
    ) -> Result<Out<'a>, GqlError> {
        let found = self.variant_by_id(l.variant_id);
        match f.name.as_str() {
            "id" => val!(gid("LineItem", l.id)),
            "name" => val!(l.name),
            "title" => val!(l.name.split(" - ").next().unwrap_or(&l.name)),
            "variantTitle" => val!(l.name.split_once(" - ").map(|(_, v)| v)),
            "sku" => val!(l.sku),
            "quantity" | "currentQuantity" => val!(l.quantity),
            "variant" => {
                Ok(found.map_or(Out::Val(Value::Null), |(p, v)| Out::Obj(Obj::Variant(p, v))))
            }
            "product" => {
                Ok(found.map_or(Out::Val(Value::Null), |(p, _)| Out::Obj(Obj::Product(p))))
            }
            "originalUnitPriceSet" | "discountedUnitPriceSet" => Ok(money_bag(&l.unit_price)),
            "originalTotalSet" => Ok(money_bag(&money(
                parse_money(&l.unit_price).unwrap_or(0) * l.quantity,
            ))),
            other => Err(GqlError::undefined_field("LineItem", other)),
        }
    }

    pub(crate) fn theme_field(&mut self, t: &'a Theme, f: &Field) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "id" => val!(gid("OnlineStoreTheme", t.id)),
            "name" => val!(t.name),
            "role" => val!(t.role),
            "createdAt" => val!(t.created_at),
            "updatedAt" => val!(t.updated_at),
            "processing" | "processingFailed" => val!(false),
            "prefix" => val!(format!("/t/{}", t.id % 1000)),
            "themeStoreId" => val!(null),
            "files" => {
                let names: Option<Vec<String>> = match f.arg("filenames", self.vars) {
                    None => None,
                    Some(v) => Some(serde_json::from_value(v).map_err(|_| {
                        GqlError::new(
                            "Variable $filenames of type [String!] was provided invalid value",
                            Some("INVALID_VARIABLE"),
                        )
                    })?),
                };
                if let Some(names) = &names {
                    if names.len() > 50 {
                        return Err(GqlError::new(
                            format!(
                                "The maximum number of filenames is 50, but {} were given.",
                                names.len()
                            ),
                            Some("BAD_REQUEST"),
                        ));
                    }
                }
                Ok(Out::Conn(
                    t.files
                        .iter()
                        .filter(|(n, _)| {
                            names
                                .as_ref()
                                .is_none_or(|list| list.iter().any(|p| glob_match(p, n)))
                        })
                        .map(|(n, b)| (n.clone(), Obj::ThemeFile(t, n.as_str(), b.as_slice())))
                        .collect(),
                ))
            }
            other => Err(GqlError::undefined_field("OnlineStoreTheme", other)),
        }
    }

    pub(crate) fn theme_file_field(
        &mut self,
        t: &'a Theme,
        name: &'a str,
        bytes: &'a [u8],
        f: &Field,
    ) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "filename" => val!(name),
            "checksumMd5" => val!(checksum_md5(bytes)),
            "size" => val!(bytes.len()),
            "contentType" => val!(content_type(name)),
            "createdAt" => val!(t.created_at),
            "updatedAt" => val!(t.updated_at),
            "body" => {
                self.theme_bodies += 1;
                Ok(Out::Obj(match std::str::from_utf8(bytes) {
                    Ok(text) => plain("OnlineStoreThemeFileBodyText", json!({"content": text})),
                    _ => plain(
                        "OnlineStoreThemeFileBodyBase64",
                        json!({"contentBase64": base64::engine::general_purpose::STANDARD.encode(bytes)}),
                    ),
                }))
            }
            other => Err(GqlError::undefined_field("OnlineStoreThemeFile", other)),
        }
    }

    pub(crate) fn bulk_field(&mut self, b: &'a BulkOp, f: &Field) -> Result<Out<'a>, GqlError> {
        let done = matches!(b.status, BulkStatus::Completed | BulkStatus::Failed);
        match f.name.as_str() {
            "id" => val!(gid("BulkOperation", b.id)),
            "status" => val!(b.status.as_str()),
            "type" => val!("QUERY"),
            "query" => val!(b.query),
            "createdAt" => val!(b.created_at),
            "completedAt" => val!(b.completed_at),
            "errorCode" => {
                val!((b.status == BulkStatus::Failed).then_some("INTERNAL_SERVER_ERROR"))
            }
            "objectCount" => val!(if done { b.visible_objects() } else { 0 }.to_string()),
            "rootObjectCount" => val!(if done { b.visible_roots() } else { 0 }.to_string()),
            "fileSize" => val!((b.status == BulkStatus::Completed && b.objects > 0)
                .then(|| b.jsonl.len().to_string())),
            "url" => val!((b.status == BulkStatus::Completed && b.objects > 0)
                .then(|| format!("{}/_bulk/{}.jsonl", self.base, b.id))),
            "partialDataUrl" => val!((b.status == BulkStatus::Failed)
                .then(|| format!("{}/_bulk/{}.partial.jsonl", self.base, b.id))),
            other => Err(GqlError::undefined_field("BulkOperation", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("templates/*.json", "templates/index.json"));
        assert!(!glob_match("templates/*.json", "sections/index.json"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXc"));
        assert!(glob_match("layout/theme.liquid", "layout/theme.liquid"));
    }
}
