//! Field resolvers of locations, inventory items and levels, and generic files.

use crate::exec::{gid, key, Ctx, GqlError, Obj, Out};
use crate::gql::Field;
use crate::image_info::encode_segment;
use crate::model::*;
use crate::obj::level_gid;
use crate::resolve::{access_denied, plain, val};
use crate::resolve_root::missing_argument;
use serde_json::{json, Value};

/// The quantity names Shopify knows.
const QUANTITY_NAMES: &str =
    "available, committed, damaged, incoming, on_hand, quality_control, reserved, safety_stock";

impl<'a> Ctx<'a> {
    /// Fields of locations, inventory items and levels, and generic files.
    pub(crate) fn stock_field(&mut self, obj: &Obj<'a>, f: &Field) -> Result<Out<'a>, GqlError> {
        match obj {
            Obj::Location(l) => self.location_field(l, f),
            Obj::InventoryItem(i) => self.inventory_item_field(i, f),
            Obj::InventoryLevel(i, l) => self.inventory_level_field(i, l, f),
            Obj::GenericFile(g) => self.generic_file_field(g, f),
            _ => Err(GqlError::undefined_field(obj.typename(), &f.name)),
        }
    }

    fn location_field(&mut self, l: &'a Location, f: &Field) -> Result<Out<'a>, GqlError> {
        let s = self.store;
        match f.name.as_str() {
            "id" => val!(gid("Location", l.id)),
            "legacyResourceId" => val!(l.id.to_string()),
            "name" => val!(l.name),
            "isActive" => val!(l.is_active),
            "isPrimary" => val!(s.locations.keys().next() == Some(&l.id)),
            "fulfillsOnlineOrders" => val!(l.fulfills_online_orders),
            "hasActiveInventory" => val!(true),
            "deletable" => val!(false),
            "deactivatedAt" => val!(null),
            "createdAt" | "updatedAt" => val!(l.created_at),
            "address" => {
                let formatted = [
                    Some(l.address1.clone()),
                    l.address2.clone(),
                    Some(format!("{} {} {}", l.city, l.province_code, l.zip)),
                    Some(l.country.clone()),
                ];
                Ok(Out::Obj(plain(
                    "LocationAddress",
                    json!({"address1": l.address1, "address2": l.address2, "city": l.city,
                           "province": l.province, "provinceCode": l.province_code,
                           "country": l.country, "countryCode": l.country_code, "zip": l.zip,
                           "phone": l.phone, "latitude": null, "longitude": null,
                           "formatted": formatted.into_iter().flatten().collect::<Vec<_>>()}),
                )))
            }
            "inventoryLevels" => {
                self.check("inventoryLevels", "read_inventory")?;
                Ok(Out::Conn(
                    s.inventory
                        .values()
                        .filter_map(|i| {
                            let level = i.levels.iter().find(|x| x.location_id == l.id)?;
                            Some((key(level.id), Obj::InventoryLevel(i, level)))
                        })
                        .collect(),
                ))
            }
            other => Err(GqlError::undefined_field("Location", other)),
        }
    }

    fn check(&self, field: &str, scope: &str) -> Result<(), GqlError> {
        if self.denied.contains(scope) {
            return Err(access_denied(field, scope));
        }
        Ok(())
    }

    fn inventory_item_field(
        &mut self,
        i: &'a InventoryItem,
        f: &Field,
    ) -> Result<Out<'a>, GqlError> {
        let s = self.store;
        let found = s.item_variant(i);
        match f.name.as_str() {
            "id" => val!(gid("InventoryItem", i.id)),
            "legacyResourceId" => val!(i.id.to_string()),
            "sku" => val!(found.map(|(_, v)| v.sku.clone())),
            "tracked" | "requiresShipping" => val!(true),
            "createdAt" => val!(i.created_at),
            "updatedAt" => val!(i.updated_at),
            "countryCodeOfOrigin" | "provinceCodeOfOrigin" | "harmonizedSystemCode" => val!(null),
            "duplicateSkuCount" => val!(0),
            "unitCost" => Ok(match i.unit_cost_cents {
                Some(c) => Out::Obj(plain(
                    "MoneyV2",
                    json!({"amount": money(c), "currencyCode": s.shop.currency_code}),
                )),
                None => Out::Val(Value::Null),
            }),
            "variant" => {
                Ok(found.map_or(Out::Val(Value::Null), |(p, v)| Out::Obj(Obj::Variant(p, v))))
            }
            "locationsCount" => Ok(Out::Obj(plain(
                "Count",
                json!({"count": i.levels.len(), "precision": "EXACT"}),
            ))),
            "inventoryLevels" => {
                self.check("inventoryLevels", "read_inventory")?;
                Ok(Out::Conn(
                    i.levels
                        .iter()
                        .map(|l| (key(l.id), Obj::InventoryLevel(i, l)))
                        .collect(),
                ))
            }
            "inventoryLevel" => {
                self.check("inventoryLevel", "read_inventory")?;
                let loc = f.arg("locationId", self.vars);
                let loc = loc.and_then(|v| crate::exec::parse_gid("Location", &v));
                Ok(i.levels
                    .iter()
                    .find(|l| Some(l.location_id) == loc)
                    .map_or(Out::Val(Value::Null), |l| {
                        Out::Obj(Obj::InventoryLevel(i, l))
                    }))
            }
            other => Err(GqlError::undefined_field("InventoryItem", other)),
        }
    }

    fn inventory_level_field(
        &mut self,
        i: &'a InventoryItem,
        l: &'a InventoryLevel,
        f: &Field,
    ) -> Result<Out<'a>, GqlError> {
        match f.name.as_str() {
            "id" => val!(level_gid(i, l)),
            "canDeactivate" => val!(false),
            "deactivationAlert" => val!(null),
            "createdAt" => val!(i.created_at),
            "updatedAt" => val!(l.updated_at),
            "item" => Ok(Out::Obj(Obj::InventoryItem(i))),
            "location" => Ok(self
                .store
                .locations
                .get(&l.location_id)
                .map_or(Out::Val(Value::Null), |x| Out::Obj(Obj::Location(x)))),
            "quantities" => {
                let names = f
                    .arg("names", self.vars)
                    .ok_or_else(|| missing_argument("quantities", "names"))?;
                let names: Vec<String> = serde_json::from_value(names).map_err(|_| {
                    GqlError::new(
                        "Argument 'names' on Field 'quantities' has an invalid value. Expected type '[String!]!'.",
                        Some("argumentLiteralsIncompatible"),
                    )
                })?;
                let mut out = Vec::new();
                for name in names {
                    let Some(quantity) = l.quantity(&name) else {
                        return Err(GqlError::new(
                            format!("The quantity name '{name}' is not valid. Valid names are: {QUANTITY_NAMES}."),
                            Some("BAD_REQUEST"),
                        ));
                    };
                    out.push(plain(
                        "InventoryQuantity",
                        json!({"id": format!("gid://shopify/InventoryQuantity/{}?inventory_item_id={}&name={name}", l.id, i.id),
                               "name": name, "quantity": quantity, "updatedAt": l.updated_at}),
                    ));
                }
                Ok(Out::List(out))
            }
            other => Err(GqlError::undefined_field("InventoryLevel", other)),
        }
    }

    fn generic_file_field(&mut self, g: &'a GenericFile, f: &Field) -> Result<Out<'a>, GqlError> {
        let url = format!(
            "{}/_cdn/files/{}/{}?v={}",
            self.base,
            g.id,
            encode_segment(&g.filename),
            g.created_at
        );
        match f.name.as_str() {
            "id" => val!(gid("GenericFile", g.id)),
            "alt" => val!(g.alt),
            "createdAt" | "updatedAt" => val!(iso(g.created_at)),
            "fileStatus" => val!("READY"),
            "fileErrors" => val!([]),
            "mimeType" => val!(g.mime_type),
            "originalFileSize" => val!(g.bytes.len()),
            "url" => val!(url),
            "preview" => Ok(Out::Obj(plain(
                "MediaPreviewImage",
                json!({"status": "READY", "image": null}),
            ))),
            other => Err(GqlError::undefined_field("GenericFile", other)),
        }
    }
}
