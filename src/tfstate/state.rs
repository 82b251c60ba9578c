//! Terraform state documents (format version 4): parsing, resource addresses, diffs and checksums.
//!
//! Terraform accepts a state object written by someone else only when its
//! `lineage` matches the state it has cached and its `serial` is higher, so a
//! rollback keeps the old content but must raise the serial. The document is
//! kept as parsed JSON (`serde_json` with `preserve_order`), so rewriting the
//! serial changes nothing else, not even the key order.

use std::collections::BTreeMap;

use md5::Md5;
use sha2::{Digest, Sha256};

/// The only state format version drctl reads and writes (Terraform 0.12 and later).
pub const SUPPORTED_STATE_VERSION: u64 = 4;

/// A parsed Terraform v4 state document.
#[derive(Debug, Clone, PartialEq)]
pub struct TerraformState {
    pub terraform_version: String,
    /// Incremented by Terraform on every write; clients reject a lower serial.
    pub serial: u64,
    /// UUID naming the state's history; differs between unrelated states.
    pub lineage: String,
    /// Resources by address (`module.net.aws_subnet.a`, `data.aws_ami.x`), each
    /// with its `instances` array, in document order.
    pub resources: Vec<StateResource>,
    /// The whole document, kept so that a rewrite preserves every field.
    pub document: serde_json::Value,
}

/// One resource block of a state document.
#[derive(Debug, Clone, PartialEq)]
pub struct StateResource {
    pub address: String,
    pub instances: serde_json::Value,
}

/// Resource addresses that differ between two states.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Present in both with different `instances` JSON.
    pub changed: Vec<String>,
}

/// The reason a document is not a usable Terraform v4 state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("it is not valid JSON: {0}")]
    Json(String),
    #[error("it is not a Terraform state: {0}")]
    Shape(String),
    #[error("its state format version is {0}, but drctl reads only version 4 (Terraform 0.12 and later)")]
    UnsupportedVersion(u64),
}

impl TerraformState {
    /// Parses a state document. Malformed input is an error, never a panic.
    pub fn parse(bytes: &[u8]) -> Result<TerraformState, StateError> {
        let document: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| StateError::Json(error.to_string()))?;
        let object = document.as_object().ok_or_else(|| StateError::Shape("the top level is not a JSON object".to_string()))?;

        let version = object
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| StateError::Shape("field 'version' is missing or not a number".to_string()))?;
        if version != SUPPORTED_STATE_VERSION {
            return Err(StateError::UnsupportedVersion(version));
        }
        let serial = object
            .get("serial")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| StateError::Shape("field 'serial' is missing or not a non-negative integer".to_string()))?;
        let lineage = object
            .get("lineage")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| StateError::Shape("field 'lineage' is missing or not a string".to_string()))?
            .to_string();
        let terraform_version = object.get("terraform_version").and_then(serde_json::Value::as_str).unwrap_or("").to_string();

        let resources = match object.get("resources") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items.iter().enumerate().map(|(i, item)| parse_resource(i, item)).collect::<Result<_, _>>()?,
            Some(_) => return Err(StateError::Shape("field 'resources' is not an array".to_string())),
        };

        Ok(TerraformState { terraform_version, serial, lineage, resources, document })
    }

    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }

    /// Serializes the document with `serial` replaced, formatted as Terraform
    /// writes it (two-space indentation and a final newline).
    pub fn to_bytes_with_serial(&self, serial: u64) -> Vec<u8> {
        let mut document = self.document.clone();
        if let Some(object) = document.as_object_mut() {
            object.insert("serial".to_string(), serde_json::Value::from(serial));
        }
        let mut bytes = serde_json::to_vec_pretty(&document).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Compares resources by address: what `to` adds, removes and changes relative to `self`.
    pub fn diff(&self, to: &TerraformState) -> StateDiff {
        let from_map: BTreeMap<&str, &serde_json::Value> = self.resources.iter().map(|r| (r.address.as_str(), &r.instances)).collect();
        let to_map: BTreeMap<&str, &serde_json::Value> = to.resources.iter().map(|r| (r.address.as_str(), &r.instances)).collect();

        let mut diff = StateDiff::default();
        for (address, instances) in &to_map {
            match from_map.get(address) {
                None => diff.added.push(address.to_string()),
                Some(old) if old != instances => diff.changed.push(address.to_string()),
                Some(_) => {}
            }
        }
        diff.removed = from_map.keys().filter(|address| !to_map.contains_key(*address)).map(|address| address.to_string()).collect();
        diff
    }
}

fn parse_resource(index: usize, item: &serde_json::Value) -> Result<StateResource, StateError> {
    let field = |name: &str| {
        item.get(name)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| StateError::Shape(format!("resources[{index}] has no string field '{name}'")))
    };
    let mode = field("mode")?;
    let resource_type = field("type")?;
    let name = field("name")?;

    let mut address = String::new();
    if let Some(module) = item.get("module").and_then(serde_json::Value::as_str) {
        address.push_str(module);
        address.push('.');
    }
    if mode == "data" {
        address.push_str("data.");
    }
    address.push_str(resource_type);
    address.push('.');
    address.push_str(name);

    let instances = item.get("instances").cloned().unwrap_or(serde_json::Value::Array(Vec::new()));
    Ok(StateResource { address, instances })
}

/// Hex MD5 of a document: the value Terraform's S3 backend keeps in the lock
/// table's `<bucket>/<key>-md5` item and compares before reading state.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(serial: u64, resources: serde_json::Value) -> TerraformState {
        let document = serde_json::json!({
            "version": 4, "terraform_version": "1.9.8", "serial": serial,
            "lineage": "5b1f2c7e", "outputs": {}, "resources": resources,
        });
        TerraformState::parse(document.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn addresses_include_module_and_data() {
        let parsed = state(1, serde_json::json!([
            {"mode": "managed", "type": "aws_db_instance", "name": "main", "module": "module.db", "instances": []},
            {"mode": "data", "type": "aws_ami", "name": "base", "instances": []},
        ]));
        let addresses: Vec<_> = parsed.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(addresses, ["module.db.aws_db_instance.main", "data.aws_ami.base"]);
    }

    #[test]
    fn diff_by_address() {
        let old = state(1, serde_json::json!([
            {"mode": "managed", "type": "aws_vpc", "name": "a", "instances": [{"attributes": {"id": "1"}}]},
            {"mode": "managed", "type": "aws_vpc", "name": "b", "instances": [{"attributes": {"id": "2"}}]},
        ]));
        let new = state(2, serde_json::json!([
            {"mode": "managed", "type": "aws_vpc", "name": "a", "instances": [{"attributes": {"id": "9"}}]},
            {"mode": "managed", "type": "aws_vpc", "name": "c", "instances": []},
        ]));
        let diff = old.diff(&new);
        assert_eq!(diff.added, ["aws_vpc.c"]);
        assert_eq!(diff.removed, ["aws_vpc.b"]);
        assert_eq!(diff.changed, ["aws_vpc.a"]);
    }

    #[test]
    fn serial_rewrite_keeps_other_fields() {
        let parsed = state(4, serde_json::json!([]));
        let rewritten = TerraformState::parse(&parsed.to_bytes_with_serial(7)).unwrap();
        assert_eq!(rewritten.serial, 7);
        assert_eq!(rewritten.lineage, parsed.lineage);
        let mut expected = parsed.document.clone();
        expected["serial"] = serde_json::json!(7);
        assert_eq!(rewritten.document, expected);
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(matches!(TerraformState::parse(b"{\"version\": 4, "), Err(StateError::Json(_))));
        assert!(matches!(TerraformState::parse(b"[1, 2]"), Err(StateError::Shape(_))));
        assert!(matches!(TerraformState::parse(b"{\"version\": 3, \"serial\": 1, \"lineage\": \"x\"}"), Err(StateError::UnsupportedVersion(3))));
        assert!(matches!(TerraformState::parse(b"{\"version\": 4, \"serial\": -1, \"lineage\": \"x\"}"), Err(StateError::Shape(_))));
        assert!(matches!(
            TerraformState::parse(b"{\"version\": 4, \"serial\": 1, \"lineage\": \"x\", \"resources\": [{\"mode\": 1}]}"),
            Err(StateError::Shape(_))
        ));
    }

    #[test]
    fn md5_matches_known_value() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
