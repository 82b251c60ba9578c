//! Versions of a Terraform state object in a versioned S3 bucket, and choosing one.

use std::fmt::Write as _;

use aws_sdk_s3::types::BucketVersioningStatus;
use chrono::{DateTime, Utc};
use drctl_executor::ActionError;
use drctl_playbook::kinds::VersionSelector;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use super::state::TerraformState;
use crate::aws::AwsCall;

/// One version of the state object, newest first in [`list_versions`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateVersion {
    pub version_id: String,
    pub last_modified: Option<DateTime<Utc>>,
    /// Object size in bytes; 0 for a delete marker.
    pub size: i64,
    pub is_latest: bool,
    /// Delete markers are listed for completeness but cannot be restored.
    pub is_delete_marker: bool,
    /// From the document; `None` for a delete marker or an unparsable document.
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    pub resource_count: Option<usize>,
    pub terraform_version: Option<String>,
    /// The reason the document is not a Terraform v4 state, when it is not.
    pub parse_error: Option<String>,
}

/// Characters kept as they are in a copy source: RFC 3986 unreserved
/// characters and `/`, which separates the bucket from the key.
const COPY_SOURCE_KEEP: &AsciiSet = &UNRESERVED.remove(b'/');
/// RFC 3986 unreserved characters, kept as they are in a query value such as the version id.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Builds the `x-amz-copy-source` value for CopyObject. S3 requires the key
/// URL-encoded, and workspace keys such as `env:/staging/app.tfstate`
/// contain `:`, which must become `%3A`.
pub fn copy_source(bucket: &str, key: &str, version_id: &str) -> String {
    let key = utf8_percent_encode(key, COPY_SOURCE_KEEP);
    let version_id = utf8_percent_encode(version_id, UNRESERVED);
    format!("{bucket}/{key}?versionId={version_id}")
}

/// Fails unless versioning is `Enabled` on `bucket` (GetBucketVersioning).
/// Without versioning a write replaces the only copy of the state.
pub async fn require_versioning(s3: &aws_sdk_s3::Client, bucket: &str, region: &str) -> Result<(), ActionError> {
    let call = AwsCall::new("GetBucketVersioning", bucket, region);
    let output = s3.get_bucket_versioning().bucket(bucket).send().await.map_err(|error| call.error(&error))?;
    match output.status() {
        Some(BucketVersioningStatus::Enabled) => Ok(()),
        other => Err(call.fatal(format!(
            "versioning is {}, not Enabled; enable versioning on the bucket before rolling back state, because a write would replace the only copy",
            other.map(|status| status.as_str()).unwrap_or("never enabled")
        ))),
    }
}

/// Lists every version and delete marker of exactly `key` (not of other keys
/// sharing the prefix, such as `<key>.tflock`), newest first, and reads each
/// version to fill in serial, lineage and resource count. A document that is
/// not a Terraform v4 state is listed with `parse_error` set.
pub async fn list_versions(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, region: &str) -> Result<Vec<StateVersion>, ActionError> {
    let resource = format!("s3://{bucket}/{key}");
    let call = AwsCall::new("ListObjectVersions", &resource, region);

    let mut listed = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let output = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|error| call.error(&error))?;

        for version in output.versions().iter().filter(|v| v.key() == Some(key)) {
            listed.push(StateVersion {
                version_id: version.version_id().unwrap_or("null").to_string(),
                last_modified: version.last_modified().and_then(to_chrono),
                size: version.size().unwrap_or(0),
                is_latest: version.is_latest().unwrap_or(false),
                is_delete_marker: false,
                serial: None,
                lineage: None,
                resource_count: None,
                terraform_version: None,
                parse_error: None,
            });
        }
        for marker in output.delete_markers().iter().filter(|m| m.key() == Some(key)) {
            listed.push(StateVersion {
                version_id: marker.version_id().unwrap_or("null").to_string(),
                last_modified: marker.last_modified().and_then(to_chrono),
                size: 0,
                is_latest: marker.is_latest().unwrap_or(false),
                is_delete_marker: true,
                serial: None,
                lineage: None,
                resource_count: None,
                terraform_version: None,
                parse_error: None,
            });
        }

        if output.is_truncated() != Some(true) {
            break;
        }
        key_marker = output.next_key_marker().map(str::to_string);
        version_marker = output.next_version_id_marker().map(str::to_string);
        if key_marker.is_none() && version_marker.is_none() {
            break;
        }
    }

    // S3 lists versions and delete markers separately, each newest first.
    // A stable sort by time merges them and keeps S3's order for equal times
    // (LastModified has only millisecond precision).
    listed.sort_by(|a, b| b.is_latest.cmp(&a.is_latest).then(b.last_modified.cmp(&a.last_modified)));

    // NOTE: this reads every version in full, one GetObject each, so a key
    // with thousands of versions makes listing (and every rollback) slow.
    for version in listed.iter_mut().filter(|v| !v.is_delete_marker) {
        let bytes = fetch_version(s3, bucket, key, region, &version.version_id).await?;
        match TerraformState::parse(&bytes) {
            Ok(state) => {
                version.serial = Some(state.serial);
                version.lineage = Some(state.lineage.clone());
                version.resource_count = Some(state.resource_count());
                version.terraform_version = Some(state.terraform_version.clone());
            }
            Err(error) => version.parse_error = Some(error.to_string()),
        }
    }
    Ok(listed)
}

/// Reads the content of one version (GetObject with a version id).
pub async fn fetch_version(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, region: &str, version_id: &str) -> Result<Vec<u8>, ActionError> {
    let resource = format!("s3://{bucket}/{key}?versionId={version_id}");
    let call = AwsCall::new("GetObject", &resource, region);
    let output = s3.get_object().bucket(bucket).key(key).version_id(version_id).send().await.map_err(|error| call.error(&error))?;
    let body = output
        .body
        .collect()
        .await
        .map_err(|error| ActionError::retryable(format!("GetObject on {resource} in {region} failed while reading the body: {error}")))?;
    Ok(body.into_bytes().to_vec())
}

/// Chooses the version `selector` names among `versions` (newest first, as
/// [`list_versions`] returns them). Delete markers are never chosen, and
/// `versions_back` counts only versions that hold content.
pub fn select_version<'a>(versions: &'a [StateVersion], selector: &VersionSelector) -> Result<&'a StateVersion, String> {
    let content: Vec<&StateVersion> = versions.iter().filter(|v| !v.is_delete_marker).collect();

    if let Some(version_id) = &selector.version_id {
        return match versions.iter().find(|v| &v.version_id == version_id) {
            Some(version) if version.is_delete_marker => {
                Err(format!("version {version_id} is a delete marker and has no content to restore; choose a version with content"))
            }
            Some(version) => Ok(version),
            None => Err(format!("version {version_id} does not exist for this key; run `drctl tfstate versions` to list the version ids")),
        };
    }

    if let Some(before) = &selector.before {
        let before = DateTime::parse_from_rfc3339(before)
            .map_err(|error| format!("select.before '{before}' is not an RFC 3339 time ({error}); write for example 2026-12-04T09:30:00Z"))?
            .with_timezone(&Utc);
        return content
            .iter()
            .find(|v| v.last_modified.is_some_and(|time| time < before))
            .copied()
            .ok_or_else(|| format!("no version was written before {}; the oldest version is newer", before.to_rfc3339()));
    }

    if let Some(back) = selector.versions_back {
        if back == 0 {
            return Err("versions_back 0 is the current version; use 1 or more".to_string());
        }
        return content.get(back as usize).copied().ok_or_else(|| {
            format!("versions_back is {back}, but only {} older versions exist", content.len().saturating_sub(1))
        });
    }

    if let Some(serial) = selector.serial {
        return content.iter().find(|v| v.serial == Some(serial)).copied().ok_or_else(|| {
            let serials: Vec<String> = content.iter().filter_map(|v| v.serial).map(|s| s.to_string()).collect();
            format!("no version has serial {serial}; the serials present are {}", serials.join(", "))
        });
    }

    Err("the selector sets none of version_id, before, versions_back or serial".to_string())
}

/// Renders versions as an aligned text table, newest first.
pub fn render_versions_table(versions: &[StateVersion]) -> String {
    let rows: Vec<[String; 7]> = versions
        .iter()
        .map(|v| {
            let kind = if v.is_delete_marker {
                "delete marker".to_string()
            } else if let Some(error) = &v.parse_error {
                format!("unreadable: {error}")
            } else {
                format!("terraform {}", v.terraform_version.as_deref().unwrap_or("?"))
            };
            [
                format!("{}{}", v.version_id, if v.is_latest { " (current)" } else { "" }),
                v.last_modified.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_else(|| "-".to_string()),
                v.size.to_string(),
                v.serial.map(|s| s.to_string()).unwrap_or_else(|| "-".to_string()),
                v.lineage.clone().unwrap_or_else(|| "-".to_string()),
                v.resource_count.map(|c| c.to_string()).unwrap_or_else(|| "-".to_string()),
                kind,
            ]
        })
        .collect();

    let header = ["VERSION ID", "LAST MODIFIED", "SIZE", "SERIAL", "LINEAGE", "RESOURCES", "NOTE"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }

    let mut table = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        table.push_str(text.trim_end());
        table.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    table
}

fn to_chrono(time: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, minutes_ago: i64, serial: u64, delete_marker: bool) -> StateVersion {
        StateVersion {
            version_id: id.to_string(),
            last_modified: Some(DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap().with_timezone(&Utc) - chrono::Duration::minutes(minutes_ago)),
            size: 10,
            is_latest: minutes_ago == 0,
            is_delete_marker: delete_marker,
            serial: (!delete_marker).then_some(serial),
            lineage: Some("l".to_string()),
            resource_count: Some(1),
            terraform_version: Some("1.9.8".to_string()),
            parse_error: None,
        }
    }

    fn versions() -> Vec<StateVersion> {
        vec![version("v4", 0, 4, false), version("dm", 10, 0, true), version("v3", 20, 3, false), version("v2", 30, 2, false), version("v1", 40, 1, false)]
    }

    #[test]
    fn copy_source_encodes_workspace_keys() {
        assert_eq!(
            copy_source("dsit-litellm-tfstate", "env:/staging/litellm/terraform.tfstate", "3/L4kqtJl"),
            "dsit-litellm-tfstate/env%3A/staging/litellm/terraform.tfstate?versionId=3%2FL4kqtJl"
        );
        assert_eq!(copy_source("b", "a b+c.tfstate", "v"), "b/a%20b%2Bc.tfstate?versionId=v");
    }

    #[test]
    fn selects_by_each_selector() {
        let all = versions();
        let by_id = VersionSelector { version_id: Some("v2".to_string()), ..Default::default() };
        assert_eq!(select_version(&all, &by_id).unwrap().version_id, "v2");
        let back = VersionSelector { versions_back: Some(2), ..Default::default() };
        assert_eq!(select_version(&all, &back).unwrap().version_id, "v2", "delete markers are not counted");
        let before = VersionSelector { before: Some("2026-12-04T11:40:00Z".to_string()), ..Default::default() };
        assert_eq!(select_version(&all, &before).unwrap().version_id, "v2", "v3 was written at 11:40 itself, which is not strictly before");
        let serial = VersionSelector { serial: Some(1), ..Default::default() };
        assert_eq!(select_version(&all, &serial).unwrap().version_id, "v1");
    }

    #[test]
    fn rejects_delete_markers_and_missing_versions() {
        let all = versions();
        let marker = VersionSelector { version_id: Some("dm".to_string()), ..Default::default() };
        assert!(select_version(&all, &marker).unwrap_err().contains("delete marker"));
        let far = VersionSelector { versions_back: Some(9), ..Default::default() };
        assert!(select_version(&all, &far).unwrap_err().contains("only 3 older versions"));
        let early = VersionSelector { before: Some("2026-12-01T00:00:00Z".to_string()), ..Default::default() };
        assert!(select_version(&all, &early).is_err());
    }

    #[test]
    fn table_lists_every_version() {
        let table = render_versions_table(&versions());
        assert_eq!(table.lines().count(), 6);
        assert!(table.contains("v4 (current)"));
        assert!(table.contains("delete marker"));
    }
}
