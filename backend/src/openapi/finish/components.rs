//! The schema half of the last pass: shared `$ref`s for inline copies, paged schemas, examples
//! composed from field examples, closed request bodies.

use serde_json::{json, Map, Value};

use super::{operations, schemas, SCHEMAS};

/// Replaces every inline object or enum schema that equals a named one by a `$ref` to it.
pub(super) fn share_inline_schemas(doc: &mut Value) {
    let named = schemas(doc);
    let named: Vec<(&String, &Value)> = named
        .iter()
        .filter(|(_, s)| s.get("properties").is_some() || s.get("enum").is_some())
        .collect();
    let replace = |v: &mut Value| {
        if let Some((name, _)) = named.iter().find(|(_, s)| *s == v) {
            *v = json!({ "$ref": format!("{SCHEMAS}{name}") });
            true
        } else {
            false
        }
    };
    fn walk(v: &mut Value, replace: &dyn Fn(&mut Value) -> bool) {
        if replace(v) {
            return;
        }
        match v {
            Value::Object(m) => m.values_mut().for_each(|c| walk(c, replace)),
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, replace)),
            _ => {}
        }
    }
    if let Some(paths) = doc.get_mut("paths") {
        walk(paths, &replace);
    }
    if let Some(Value::Object(all)) = doc["components"].get_mut("schemas") {
        // Below each named schema, not the schema itself.
        for schema in all.values_mut() {
            if let Value::Object(m) = schema {
                m.values_mut().for_each(|c| walk(c, &replace));
            }
        }
    }
}

pub(super) fn describe_pages(doc: &mut Value) {
    if let Some(Value::Object(all)) = doc["components"].get_mut("schemas") {
        for (name, schema) in all.iter_mut() {
            if let Some(item) = name.strip_prefix("Page_") {
                schema["description"] = json!(format!(
                    "A page of `{item}` items, newest first. Pass `nextCursor` as the `cursor` query \
                     parameter to get the next page; it is `null` on the last page. Cursors are opaque \
                     and stay valid while items are added."
                ));
            }
        }
    }
}

pub(super) fn compose_examples(doc: &mut Value) {
    let named = schemas(doc);
    if let Some(Value::Object(all)) = doc["components"].get_mut("schemas") {
        for schema in all.values_mut() {
            if schema.get("example").is_none() {
                if let Some(example) = example_of(schema, &named, 0) {
                    schema["example"] = example;
                }
            }
        }
    }
}

/// The example of a schema: its own, else assembled from its parts. `None` when a required part
/// has none.
pub(super) fn example_of(
    schema: &Value,
    named: &Map<String, Value>,
    depth: usize,
) -> Option<Value> {
    if depth > 8 {
        return None;
    }
    if let Some(e) = schema.get("example") {
        return Some(e.clone());
    }
    if let Some(Value::String(r)) = schema.get("$ref") {
        return example_of(named.get(r.strip_prefix(SCHEMAS)?)?, named, depth + 1);
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.first().cloned();
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(variants)) = schema.get(combinator) {
            return variants
                .iter()
                .filter(|v| v.get("type") != Some(&json!("null")))
                .find_map(|v| example_of(v, named, depth + 1));
        }
    }
    if let Some(Value::Object(props)) = schema.get("properties") {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        for (name, prop) in props {
            match example_of(prop, named, depth + 1) {
                Some(e) => {
                    out.insert(name.clone(), e);
                }
                None if required.contains(&name.as_str()) => return None,
                None => {}
            }
        }
        return Some(Value::Object(out));
    }
    if schema.get("type") == Some(&json!("array"))
        || schema["type"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("array")))
    {
        return Some(json!([example_of(schema.get("items")?, named, depth + 1)?]));
    }
    None
}

/// Marks every object schema reachable from a request body `additionalProperties: false`.
pub(super) fn close_request_bodies(doc: &mut Value) {
    let mut named = Vec::new();
    for (_, _, op) in operations(doc) {
        if let Some(Value::Object(content)) =
            op.get_mut("requestBody").and_then(|b| b.get_mut("content"))
        {
            for media in content.values_mut() {
                if let Some(schema) = media.get_mut("schema") {
                    close(schema, &mut named);
                }
            }
        }
    }
    // Named schemas reachable from bodies, closed in turn (and what they reach).
    let mut done = std::collections::HashSet::new();
    while let Some(name) = named.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = doc["components"]["schemas"].get_mut(&name) {
            close(schema, &mut named);
        }
    }
}

/// Closes `schema` and what it holds inline; collects the names it refers to.
pub(super) fn close(schema: &mut Value, named: &mut Vec<String>) {
    let Value::Object(m) = schema else {
        return;
    };
    if let Some(Value::String(r)) = m.get("$ref") {
        if let Some(name) = r.strip_prefix(SCHEMAS) {
            named.push(name.to_string());
        }
        return;
    }
    if m.contains_key("properties") {
        m.insert("additionalProperties".into(), json!(false));
    }
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        props.values_mut().for_each(|p| close(p, named));
    }
    if let Some(items) = m.get_mut("items") {
        close(items, named);
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(variants)) = m.get_mut(combinator) {
            variants.iter_mut().for_each(|v| close(v, named));
        }
    }
}
