//! A JSON Schema checker for the keywords the report schema uses: type,
//! required, properties, items, enum, const, oneOf and local $ref.

use serde_json::Value;

/// Returns every violation of `schema` by `value`, as `path: problem`.
pub fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(schema, schema, value, "$", &mut problems);
    problems
}

fn check(root: &Value, schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = reference.strip_prefix("#/").map(|pointer| format!("/{pointer}")).and_then(|pointer| root.pointer(&pointer).cloned());
        match target {
            Some(target) => check(root, &target, value, path, problems),
            None => problems.push(format!("{path}: unresolved $ref {reference}")),
        }
        return;
    }
    if let Some(types) = schema.get("type") {
        let names: Vec<&str> = match types {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !names.iter().any(|name| has_type(value, name)) {
            problems.push(format!("{path}: expected type {names:?}, found {value}"));
            return;
        }
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        problems.push(format!("{path}: expected {expected}, found {value}"));
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.contains(value)
    {
        problems.push(format!("{path}: {value} is not one of {options:?}"));
    }
    if let Some(Value::Array(branches)) = schema.get("oneOf") {
        let matching = branches.iter().filter(|branch| violations_at(root, branch, value).is_empty()).count();
        if matching != 1 {
            problems.push(format!("{path}: matches {matching} oneOf branches, expected 1"));
        }
    }
    if let Value::Object(object) = value {
        if let Some(Value::Array(required)) = schema.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(key) {
                    problems.push(format!("{path}: missing required key `{key}`"));
                }
            }
        }
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (key, subschema) in properties {
                if let Some(child) = object.get(key) {
                    check(root, subschema, child, &format!("{path}.{key}"), problems);
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            check(root, item_schema, item, &format!("{path}[{index}]"), problems);
        }
    }
}

fn violations_at(root: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(root, schema, value, "$", &mut problems);
    problems
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_u64() || value.is_i64(),
        _ => false,
    }
}
