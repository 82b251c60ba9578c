//! Terraform state locks: the S3 native lock object and the DynamoDB lock table.
//!
//! Terraform 1.10 and later can lock with an object `<key>.tflock` next to the
//! state, created with `If-None-Match: *` so that only one writer succeeds.
//! Older backends lock with a DynamoDB item whose `LockID` is `<bucket>/<key>`,
//! and keep the state's MD5 in the item `<bucket>/<key>-md5`. Both store the
//! same lock info JSON, which names the holder.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use drctl_executor::ActionError;
use serde::{Deserialize, Serialize};

use crate::aws::{AwsCall, is_not_found};

/// Terraform's lock info, as stored in the lock object and the lock item's `Info` attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Operation", default)]
    pub operation: String,
    #[serde(rename = "Info", default)]
    pub info: String,
    #[serde(rename = "Who", default)]
    pub who: String,
    #[serde(rename = "Version", default)]
    pub version: String,
    #[serde(rename = "Created", default)]
    pub created: String,
    #[serde(rename = "Path", default)]
    pub path: String,
}

impl LockInfo {
    /// Formats one line naming the holder, for rejection messages.
    pub fn describe(&self) -> String {
        format!("ID {}, held by {}, operation {}, created {}", or_unknown(&self.id), or_unknown(&self.who), or_unknown(&self.operation), or_unknown(&self.created))
    }
}

fn or_unknown(value: &str) -> &str {
    if value.is_empty() { "unknown" } else { value }
}

/// A held lock and the place it was found.
#[derive(Debug, Clone, PartialEq)]
pub enum LockHolder {
    /// The native lock object `<key>.tflock`.
    NativeObject { lock_key: String, info: Option<LockInfo> },
    /// The lock item of a DynamoDB lock table.
    DynamoDbItem { table: String, info: Option<LockInfo> },
}

impl LockHolder {
    pub fn info(&self) -> Option<&LockInfo> {
        match self {
            LockHolder::NativeObject { info, .. } | LockHolder::DynamoDbItem { info, .. } => info.as_ref(),
        }
    }

    /// Formats a sentence naming the lock and its holder.
    pub fn describe(&self) -> String {
        let holder = self.info().map(LockInfo::describe).unwrap_or_else(|| "lock info unreadable".to_string());
        match self {
            LockHolder::NativeObject { lock_key, .. } => format!("the lock object {lock_key} exists ({holder})"),
            LockHolder::DynamoDbItem { table, .. } => format!("DynamoDB lock table {table} has a lock item ({holder})"),
        }
    }
}

/// Key of the native lock object of a state key.
pub fn native_lock_key(key: &str) -> String {
    format!("{key}.tflock")
}

/// `LockID` of the DynamoDB lock item of a state object.
pub fn dynamodb_lock_id(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

/// `LockID` of the DynamoDB item holding the state's MD5 digest.
pub fn dynamodb_digest_id(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}-md5")
}

/// Reads the native lock object, if it exists (GetObject).
pub async fn read_native_lock(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, region: &str) -> Result<Option<LockHolder>, ActionError> {
    let lock_key = native_lock_key(key);
    let resource = format!("s3://{bucket}/{lock_key}");
    let call = AwsCall::new("GetObject", &resource, region);
    let output = match s3.get_object().bucket(bucket).key(&lock_key).send().await {
        Ok(output) => output,
        Err(error) if is_not_found(AwsCall::code(&error)) => return Ok(None),
        Err(error) => return Err(call.error(&error)),
    };
    let body = output
        .body
        .collect()
        .await
        .map_err(|error| ActionError::retryable(format!("GetObject on {resource} in {region} failed while reading the body: {error}")))?;
    let info = serde_json::from_slice::<LockInfo>(&body.into_bytes()).ok();
    Ok(Some(LockHolder::NativeObject { lock_key, info }))
}

/// Reads the DynamoDB lock item of the state, if it exists (GetItem, consistent read).
pub async fn read_dynamodb_lock(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    bucket: &str,
    key: &str,
    region: &str,
) -> Result<Option<LockHolder>, ActionError> {
    let lock_id = dynamodb_lock_id(bucket, key);
    let resource = format!("{table} item {lock_id}");
    let call = AwsCall::new("GetItem", &resource, region);
    let output = dynamodb
        .get_item()
        .table_name(table)
        .key("LockID", AttributeValue::S(lock_id.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|error| call.error(&error))?;
    let Some(item) = output.item() else {
        return Ok(None);
    };
    let info = item
        .get("Info")
        .and_then(|value| value.as_s().ok())
        .and_then(|text| serde_json::from_str::<LockInfo>(text).ok());
    Ok(Some(LockHolder::DynamoDbItem { table: table.to_string(), info }))
}

/// The outcome of trying to take the native lock.
#[derive(Debug)]
pub enum Acquire {
    Taken,
    /// Another writer has the lock. The holder is included when its lock info is readable.
    Held(Option<LockHolder>),
}

/// Takes the native lock by creating `<key>.tflock` with `If-None-Match: *`.
/// S3 returns 412 Precondition Failed when the object exists, so at most one
/// writer succeeds. `tagging` is a URL-encoded tag set (`k=v&k2=v2`).
pub async fn acquire_native_lock(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    region: &str,
    info: &LockInfo,
    tagging: &str,
) -> Result<Acquire, ActionError> {
    let lock_key = native_lock_key(key);
    let resource = format!("s3://{bucket}/{lock_key}");
    let call = AwsCall::new("PutObject", &resource, region);
    let body = serde_json::to_vec(info).map_err(|error| call.fatal(format!("failed to serialize the lock info: {error}")))?;
    let result = s3
        .put_object()
        .bucket(bucket)
        .key(&lock_key)
        .body(ByteStream::from(body))
        .content_type("application/json")
        .if_none_match("*")
        .tagging(tagging)
        .send()
        .await;
    match result {
        Ok(_) => Ok(Acquire::Taken),
        Err(error) if AwsCall::code(&error) == Some("PreconditionFailed") || error.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
            Ok(Acquire::Held(read_native_lock(s3, bucket, key, region).await?))
        }
        Err(error) => Err(call.error(&error)),
    }
}

/// Deletes the native lock object, but only while it carries `lock_id`, so a
/// lock taken by someone else after ours is never removed. Returns whether
/// this call deleted it. The bucket is versioned, so the delete adds a delete
/// marker and the lock's content stays in the history.
pub async fn release_native_lock(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, region: &str, lock_id: &str) -> Result<bool, ActionError> {
    match read_native_lock(s3, bucket, key, region).await? {
        None => Ok(false),
        Some(holder) if holder.info().is_some_and(|info| info.id == lock_id) => {
            let lock_key = native_lock_key(key);
            let resource = format!("s3://{bucket}/{lock_key}");
            let call = AwsCall::new("DeleteObject", &resource, region);
            s3.delete_object().bucket(bucket).key(&lock_key).send().await.map_err(|error| call.error(&error))?;
            Ok(true)
        }
        Some(holder) => Err(ActionError::fatal(format!(
            "not releasing the lock on s3://{bucket}/{key} in {region}: {}, which is not drctl's lock {lock_id}",
            holder.describe()
        ))),
    }
}

/// Sets the digest item `<bucket>/<key>-md5` to `md5_hex` (PutItem), as
/// Terraform's S3 backend does after each write. Without it `terraform plan`
/// fails with a checksum mismatch against the rolled-back state.
pub async fn write_digest(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    bucket: &str,
    key: &str,
    region: &str,
    md5_hex: &str,
) -> Result<(), ActionError> {
    let digest_id = dynamodb_digest_id(bucket, key);
    let resource = format!("{table} item {digest_id}");
    let call = AwsCall::new("PutItem", &resource, region);
    let item = HashMap::from([
        ("LockID".to_string(), AttributeValue::S(digest_id.clone())),
        ("Digest".to_string(), AttributeValue::S(md5_hex.to_string())),
    ]);
    dynamodb.put_item().table_name(table).set_item(Some(item)).send().await.map_err(|error| call.error(&error))?;
    Ok(())
}

/// Reads the digest item's `Digest`, if the item exists.
pub async fn read_digest(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    bucket: &str,
    key: &str,
    region: &str,
) -> Result<Option<String>, ActionError> {
    let digest_id = dynamodb_digest_id(bucket, key);
    let resource = format!("{table} item {digest_id}");
    let call = AwsCall::new("GetItem", &resource, region);
    let output = dynamodb
        .get_item()
        .table_name(table)
        .key("LockID", AttributeValue::S(digest_id))
        .consistent_read(true)
        .send()
        .await
        .map_err(|error| call.error(&error))?;
    Ok(output.item().and_then(|item| item.get("Digest")).and_then(|value| value.as_s().ok()).cloned())
}

/// Lock info for a lock drctl takes on behalf of `run_id`.
pub fn drctl_lock_info(id: &str, run_id: &str, bucket: &str, key: &str, now: DateTime<Utc>) -> LockInfo {
    LockInfo {
        id: id.to_string(),
        operation: "drctl tfstate.rollback".to_string(),
        info: String::new(),
        who: format!("drctl run {run_id}"),
        version: format!("drctl {}", env!("CARGO_PKG_VERSION")),
        created: now.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        path: format!("{bucket}/{key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_info_reads_terraform_json() {
        let text = r#"{"ID":"6f6b1c1e-0000-4000-8000-000000000001","Operation":"OperationTypeApply","Info":"","Who":"alice@laptop","Version":"1.9.8","Created":"2026-12-04T09:00:00.123Z","Path":"b/k"}"#;
        let info: LockInfo = serde_json::from_str(text).unwrap();
        assert_eq!(info.who, "alice@laptop");
        let line = info.describe();
        assert!(line.contains("alice@laptop"));
        assert!(line.contains("OperationTypeApply"));
        assert!(line.contains("2026-12-04T09:00:00.123Z"));
    }

    #[test]
    fn lock_names_follow_terraform() {
        assert_eq!(native_lock_key("env:/staging/app.tfstate"), "env:/staging/app.tfstate.tflock");
        assert_eq!(dynamodb_lock_id("b", "k/t.tfstate"), "b/k/t.tfstate");
        assert_eq!(dynamodb_digest_id("b", "k/t.tfstate"), "b/k/t.tfstate-md5");
    }
}
