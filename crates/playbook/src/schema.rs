//! The JSON Schema (draft 2020-12) of playbook format v1, for editors.
//!
//! The schema is derived from the same structs the loader decodes, plus each
//! kind's params schema. A step's `kind` selects its `params` schema through
//! one `if`/`then` pair per kind. The schema checks shape only; references,
//! cycles, expression types and safety rules need `drctl validate`.

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::kinds;
use crate::model::PlaybookDoc;

/// Returns the JSON Schema of the whole playbook format.
pub fn json_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let kind_schemas: Vec<(&str, Value)> = kinds::all()
        .iter()
        .map(|kind| (kind.name, (kind.schema)(&mut generator).to_value()))
        .collect();
    let mut root = generator.root_schema_for::<PlaybookDoc>().to_value();

    if let Some(object) = root.as_object_mut() {
        object.insert("title".to_string(), json!("drctl playbook, format v1"));
    }
    if let Some(step) = root
        .pointer_mut("/$defs/StepDoc")
        .and_then(Value::as_object_mut)
    {
        let names: Vec<&str> = kind_schemas.iter().map(|(name, _)| *name).collect();
        if let Some(kind) = step
            .get_mut("properties")
            .and_then(|p| p.get_mut("kind"))
            .and_then(Value::as_object_mut)
        {
            kind.insert("enum".to_string(), json!(names));
        }
        let branches: Vec<Value> = kind_schemas
            .into_iter()
            .map(|(name, params)| {
                json!({
                    "if": { "properties": { "kind": { "const": name } }, "required": ["kind"] },
                    "then": { "properties": { "params": params } }
                })
            })
            .collect();
        step.insert("allOf".to_string(), Value::Array(branches));
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_draft_2020_12_with_every_kind() {
        let schema = json_schema();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let branches = schema
            .pointer("/$defs/StepDoc/allOf")
            .and_then(Value::as_array)
            .unwrap();
        assert_eq!(branches.len(), kinds::all().len());
        let kinds_enum = schema
            .pointer("/$defs/StepDoc/properties/kind/enum")
            .and_then(Value::as_array)
            .unwrap();
        assert!(kinds_enum.iter().any(|k| k == "aurora.restore_pitr"));
    }

    #[test]
    fn schema_rejects_unknown_top_level_keys() {
        let schema = json_schema();
        assert_eq!(schema["additionalProperties"], json!(false));
        let required = schema["required"].as_array().unwrap();
        for key in ["version", "name", "regions", "steps"] {
            assert!(
                required.iter().any(|r| r == key),
                "{key} should be required"
            );
        }
    }

    #[test]
    fn every_param_ref_resolves() {
        let schema = json_schema();
        let text = schema.to_string();
        for piece in text.split("\"$ref\":\"").skip(1) {
            let target = piece.split('"').next().unwrap();
            let pointer = target.trim_start_matches('#');
            assert!(schema.pointer(pointer).is_some(), "dangling $ref {target}");
        }
    }
}
