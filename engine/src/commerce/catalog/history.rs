//! What a version changed: the fields whose value differs from the version before, with
//! both values in the product's JSON form.

use serde_json::Value;

use super::ProductVersion;

/// One field a version changed.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    /// Its value before (null for a product's first version or a field that was unset).
    pub old: Value,
    pub new: Value,
}

fn fields(version: Option<&ProductVersion>) -> serde_json::Map<String, Value> {
    let Some(version) = version else { return serde_json::Map::new() };
    let mut map = match serde_json::to_value(version.product.as_ref()) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    map.insert("retired".into(), Value::Bool(version.retired));
    map
}

/// The fields `after` changed from `before` (every field set, for a first version), in
/// field order; `retired` counts as a field.
pub fn changes(before: Option<&ProductVersion>, after: &ProductVersion) -> Vec<FieldChange> {
    let old = fields(before);
    let new = fields(Some(after));
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let was = old.get(name).cloned().unwrap_or(Value::Null);
            let is = new.get(name).cloned().unwrap_or(Value::Null);
            let empty = |v: &Value| match v {
                Value::Null => true,
                Value::Object(m) => m.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Bool(b) => before.is_none() && !b,
                _ => false,
            };
            (was != is && !(before.is_none() && empty(&is))).then(|| FieldChange {
                field: name.clone(),
                old: was,
                new: is,
            })
        })
        .collect()
}
