//! `tfstate.rollback`: make an earlier version of a Terraform state object current again.
//!
//! The rollback never deletes a version. It writes the chosen version's
//! content as a new current version, with `serial` set to the current serial
//! plus one so that Terraform clients accept it, under the native lock
//! object `<key>.tflock`. Undo writes the version that was current before in
//! the same way. Both journal their intent (the version replaced, the serial
//! and SHA-256 about to be written, the lock id) before writing, so a re-entry
//! adopts a write that already landed instead of writing a second version.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use base64::Engine as _;
use drctl_executor::{Action, ActionError, Outputs, ResourceEvent, ResourceRecord, StepContext};
use drctl_playbook::kinds::TfstateRollbackParams;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ActionEnv;
use crate::aws::AwsCall;
use crate::tfstate::lock::{self, Acquire, LockHolder};
use crate::tfstate::{StateVersion, TerraformState, fetch_version, list_versions, md5_hex, require_versioning, select_version, sha256_hex};

const NAME: &str = "tfstate.rollback";
/// Resource type used for the protected list and the ownership checks.
const RESOURCE_TYPE: &str = "s3:object";

pub fn build(params: serde_json::Value, env: ActionEnv) -> Result<Box<dyn Action>, ActionError> {
    let params: TfstateRollbackParams = super::parse(NAME, params)?;
    Ok(Box::new(TfstateRollback { params, env }))
}

struct TfstateRollback {
    params: TfstateRollbackParams,
    env: ActionEnv,
}

/// The write a note belongs to. Run and undo journal under separate keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Rollback,
    Undo,
}

impl Phase {
    fn note(self, name: &str) -> String {
        match self {
            Phase::Rollback => format!("rollback.{name}"),
            Phase::Undo => format!("undo.{name}"),
        }
    }
}

/// The intent journalled before a state write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct WriteIntent {
    previous_version_id: String,
    previous_serial: u64,
    target_version_id: String,
    new_serial: u64,
    /// SHA-256 of the exact bytes about to be written, hex.
    sha256: String,
    lineage: String,
    /// ID in the lock info of the native lock object this write takes.
    lock_id: String,
}

/// The result of a write, for outputs and logs.
#[derive(Debug, Clone, PartialEq)]
struct WriteOutcome {
    previous_version_id: String,
    restored_from_version_id: String,
    new_version_id: String,
    new_serial: u64,
    lineage: String,
}

/// The current version and the chosen one, read and parsed.
struct Loaded {
    current: StateVersion,
    current_bytes: Vec<u8>,
    current_state: TerraformState,
    target: StateVersion,
    target_bytes: Vec<u8>,
    target_state: TerraformState,
}

impl TfstateRollback {
    fn s3(&self) -> aws_sdk_s3::Client {
        self.env.aws.s3(&self.params.region)
    }

    fn object(&self) -> String {
        format!("s3://{}/{}", self.params.bucket, self.params.key)
    }

    /// Returns the id that the protected list and the ownership checks use, as in the kind's declared effect.
    fn resource_id(&self) -> String {
        format!("{}/{}", self.params.bucket, self.params.key)
    }

    /// Derives a lock id that is the same on every attempt of this step and
    /// phase, so a re-entry recognises a lock object that an earlier attempt left behind.
    fn lock_id(&self, phase: Phase) -> String {
        let seed = format!("{}/{}/{}/{:?}", self.env.run_id, self.env.step_id, self.resource_id(), phase);
        let hex = hex::encode(Sha256::digest(seed.as_bytes()));
        format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }

    fn tagging(&self) -> String {
        const KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
        self.env
            .ownership_tags()
            .iter()
            .map(|(key, value)| format!("{}={}", utf8_percent_encode(key, KEEP), utf8_percent_encode(value, KEEP)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Lists the versions and returns them with the current one. A delete
    /// marker as the newest version means the state was deleted, and there is
    /// no serial to continue from.
    async fn versions(&self) -> Result<(Vec<StateVersion>, StateVersion), ActionError> {
        let p = &self.params;
        let versions = list_versions(&self.s3(), &p.bucket, &p.key, &p.region).await?;
        let current = match versions.first() {
            None => {
                return Err(ActionError::fatal(format!(
                    "{} in {} has no versions; check the bucket, key and region",
                    self.object(),
                    p.region
                )));
            }
            Some(version) if version.is_delete_marker => {
                return Err(ActionError::fatal(format!(
                    "the current version of {} in {} is a delete marker ({}), so there is no current serial to continue from; restore the state by hand",
                    self.object(),
                    p.region,
                    version.version_id
                )));
            }
            Some(version) => version.clone(),
        };
        Ok((versions, current))
    }

    /// Reads and parses the current version and the version `target_version_id`.
    async fn load(&self, versions: &[StateVersion], current: StateVersion, target_version_id: &str) -> Result<Loaded, ActionError> {
        let p = &self.params;
        let target = versions
            .iter()
            .find(|v| v.version_id == target_version_id)
            .cloned()
            .ok_or_else(|| ActionError::fatal(format!("version {target_version_id} of {} in {} no longer exists", self.object(), p.region)))?;
        if target.is_delete_marker {
            return Err(ActionError::fatal(format!(
                "version {target_version_id} of {} in {} is a delete marker and has no content to restore",
                self.object(),
                p.region
            )));
        }

        let s3 = self.s3();
        let current_bytes = fetch_version(&s3, &p.bucket, &p.key, &p.region, &current.version_id).await?;
        let current_state = TerraformState::parse(&current_bytes).map_err(|error| {
            ActionError::fatal(format!(
                "the current version {} of {} in {} is not a usable Terraform state: {error}; without its serial and lineage the rollback cannot continue safely",
                current.version_id,
                self.object(),
                p.region
            ))
        })?;
        let target_bytes = fetch_version(&s3, &p.bucket, &p.key, &p.region, target_version_id).await?;
        let target_state = TerraformState::parse(&target_bytes).map_err(|error| {
            ActionError::fatal(format!(
                "version {target_version_id} of {} in {} is not a usable Terraform state: {error}; choose another version",
                self.object(),
                p.region
            ))
        })?;

        Ok(Loaded { current, current_bytes, current_state, target, target_bytes, target_state })
    }

    fn check_lineage(&self, loaded: &Loaded, allow_lineage_change: bool) -> Result<(), ActionError> {
        if allow_lineage_change || loaded.current_state.lineage == loaded.target_state.lineage {
            return Ok(());
        }
        Err(ActionError::fatal(format!(
            "version {} of {} in {} has lineage {}, but the current state has lineage {}; Terraform treats them as unrelated states. Choose a version of the same lineage, or set allow_lineage_change: true if replacing the state's history is intended",
            loaded.target.version_id,
            self.object(),
            self.params.region,
            loaded.target_state.lineage,
            loaded.current_state.lineage
        )))
    }

    /// Returns the locks currently held, except the native lock `own_lock_id`.
    async fn held_locks(&self, own_lock_id: Option<&str>) -> Result<Vec<LockHolder>, ActionError> {
        let p = &self.params;
        let mut held = Vec::new();
        if let Some(holder) = lock::read_native_lock(&self.s3(), &p.bucket, &p.key, &p.region).await? {
            let ours = own_lock_id.is_some_and(|id| holder.info().is_some_and(|info| info.id == id));
            if !ours {
                held.push(holder);
            }
        }
        if let Some(table) = &p.lock_table {
            let dynamodb = self.env.aws.dynamodb(&p.region);
            if let Some(holder) = lock::read_dynamodb_lock(&dynamodb, table, &p.bucket, &p.key, &p.region).await? {
                held.push(holder);
            }
        }
        Ok(held)
    }

    fn lock_rejection(&self, held: &[LockHolder]) -> ActionError {
        let holders: Vec<String> = held.iter().map(LockHolder::describe).collect();
        ActionError::fatal(format!(
            "the Terraform state {} in {} is locked: {}. Wait for that operation to finish, or release the lock with `terraform force-unlock` once you are sure it is stale",
            self.object(),
            self.params.region,
            holders.join("; ")
        ))
    }

    /// Makes `target_version_id` current again as a new version. See the module docs.
    ///
    /// `expected_current` is the version that must be current before the
    /// write (undo passes the version the rollback wrote, so a later apply is
    /// never overwritten).
    async fn make_current(
        &self,
        cx: &StepContext,
        phase: Phase,
        target_version_id: &str,
        allow_lineage_change: bool,
        expected_current: Option<&str>,
    ) -> Result<WriteOutcome, ActionError> {
        let p = &self.params;
        let s3 = self.s3();
        let notes = cx.notes();
        let intent: Option<WriteIntent> = notes.get(&phase.note("intent")).and_then(|value| serde_json::from_value(value.clone()).ok());

        cx.progress("checking bucket versioning", Some(5.0));
        require_versioning(&s3, &p.bucket, &p.region).await?;

        cx.progress("reading state versions", Some(15.0));
        let (versions, current) = self.versions().await?;

        // Re-entry: an earlier attempt may have written already.
        if let Some(intent) = &intent {
            let current_bytes = fetch_version(&s3, &p.bucket, &p.key, &p.region, &current.version_id).await?;
            let current_serial = TerraformState::parse(&current_bytes).ok().map(|state| state.serial);
            if sha256_hex(&current_bytes) == intent.sha256 && current_serial == Some(intent.new_serial) {
                tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), version_id = %current.version_id, "adopting the state version an earlier attempt wrote");
                return self.finish(cx, phase, intent, &current.version_id, &current_bytes, ResourceEvent::Adopted).await;
            }
            if current.version_id != intent.previous_version_id {
                return Err(ActionError::fatal(format!(
                    "the current version of {} in {} is {}, but an earlier attempt recorded {} as current before writing; someone else changed the state in between, so check it by hand",
                    self.object(),
                    p.region,
                    current.version_id,
                    intent.previous_version_id
                )));
            }
        } else if let Some(expected) = expected_current
            && current.version_id != expected
        {
            return Err(ActionError::fatal(format!(
                "the current version of {} in {} is {}, not {expected}, which drctl wrote; the state changed after the rollback, so undoing it would discard that change. Restore the version you need by hand",
                self.object(),
                p.region,
                current.version_id
            )));
        }

        let loaded = self.load(&versions, current, target_version_id).await?;
        if intent.is_none() && loaded.target.version_id == loaded.current.version_id {
            return Err(ActionError::fatal(format!(
                "version {target_version_id} is already the current version of {} in {}; nothing to roll back",
                self.object(),
                p.region
            )));
        }
        self.check_lineage(&loaded, allow_lineage_change)?;

        // Lock checks, before any write.
        cx.progress("checking Terraform locks", Some(30.0));
        let lock_id = intent.as_ref().map(|intent| intent.lock_id.clone()).unwrap_or_else(|| self.lock_id(phase));
        let held = self.held_locks(Some(&lock_id)).await?;
        if !held.is_empty() {
            return Err(self.lock_rejection(&held));
        }

        // Ownership: a drill changes only state objects that it wrote itself.
        let current_tags = self.object_tags(&loaded.current.version_id).await?;
        self.env.check_may_modify(RESOURCE_TYPE, &self.resource_id(), &p.region, &current_tags)?;

        let new_serial = loaded.current_state.serial + 1;
        let body = loaded.target_state.to_bytes_with_serial(new_serial);
        let intent = WriteIntent {
            previous_version_id: loaded.current.version_id.clone(),
            previous_serial: loaded.current_state.serial,
            target_version_id: loaded.target.version_id.clone(),
            new_serial,
            sha256: sha256_hex(&body),
            lineage: loaded.target_state.lineage.clone(),
            lock_id,
        };
        cx.record_note(phase.note("intent"), serde_json::to_value(&intent).unwrap_or_default()).await?;

        if cx.is_cancelled() {
            return Err(ActionError::cancelled(format!("the run was cancelled before drctl wrote {}", self.object())));
        }

        // Take the native lock. A 412 means someone took it after the check above.
        cx.progress("taking the state lock", Some(45.0));
        let info = lock::drctl_lock_info(&intent.lock_id, cx.run_id(), &p.bucket, &p.key, chrono::Utc::now());
        match lock::acquire_native_lock(&s3, &p.bucket, &p.key, &p.region, &info, &self.tagging()).await? {
            Acquire::Taken => {}
            Acquire::Held(Some(holder)) if holder.info().is_some_and(|held| held.id == intent.lock_id) => {}
            Acquire::Held(holder) => {
                let held: Vec<LockHolder> = holder.into_iter().collect();
                if held.is_empty() {
                    return Err(ActionError::fatal(format!(
                        "the Terraform state {} in {} was locked by someone else while drctl was taking the lock, and that lock is gone again; run the step again",
                        self.object(),
                        p.region
                    )));
                }
                return Err(self.lock_rejection(&held));
            }
        }
        let lock_key = lock::native_lock_key(&p.key);
        cx.record_resource(ResourceRecord {
            resource_type: "s3:object".to_string(),
            id: format!("s3://{}/{lock_key}", p.bucket),
            region: p.region.clone(),
            arn: Some(format!("arn:aws:s3:::{}/{lock_key}", p.bucket)),
            event: ResourceEvent::Created,
        })
        .await?;

        let written = self.write_locked(cx, phase, &intent, body).await;

        // Release the lock whatever happened, but report the write's error first.
        let released = lock::release_native_lock(&s3, &p.bucket, &p.key, &p.region, &intent.lock_id).await;
        let outcome = written?;
        if released? {
            cx.record_resource(ResourceRecord {
                resource_type: "s3:object".to_string(),
                id: format!("s3://{}/{lock_key}", p.bucket),
                region: p.region.clone(),
                arn: Some(format!("arn:aws:s3:::{}/{lock_key}", p.bucket)),
                event: ResourceEvent::Deleted,
            })
            .await?;
        }
        Ok(outcome)
    }

    /// Writes, verifies and records the new version while drctl holds the lock.
    async fn write_locked(&self, cx: &StepContext, phase: Phase, intent: &WriteIntent, body: Vec<u8>) -> Result<WriteOutcome, ActionError> {
        let p = &self.params;
        let s3 = self.s3();
        let object = self.object();

        // Someone may have written between the checks and the lock.
        let head_call = AwsCall::new("HeadObject", &object, &p.region);
        let head = s3.head_object().bucket(&p.bucket).key(&p.key).send().await.map_err(|error| head_call.error(&error))?;
        if head.version_id() != Some(intent.previous_version_id.as_str()) {
            return Err(ActionError::fatal(format!(
                "the current version of {object} in {} changed to {} while drctl was taking the lock; check the new state and run the step again",
                p.region,
                head.version_id().unwrap_or("unknown")
            )));
        }

        // Keep the encryption of the current version, explicitly, rather than
        // trusting the bucket default to still match it.
        let mut put = s3
            .put_object()
            .bucket(&p.bucket)
            .key(&p.key)
            .content_type("application/json")
            .content_md5(base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&body)))
            .tagging(self.tagging());
        if let Some(encryption) = head.server_side_encryption() {
            put = put.server_side_encryption(encryption.clone());
            if *encryption == ServerSideEncryption::AwsKms || *encryption == ServerSideEncryption::AwsKmsDsse {
                put = put.set_ssekms_key_id(head.ssekms_key_id().map(str::to_string));
                if let Some(bucket_key) = head.bucket_key_enabled() {
                    put = put.bucket_key_enabled(bucket_key);
                }
            }
        }

        cx.progress(format!("writing serial {} from version {}", intent.new_serial, intent.target_version_id), Some(60.0));
        let put_call = AwsCall::new("PutObject", &object, &p.region);
        let written = put.body(ByteStream::from(body.clone())).send().await.map_err(|error| put_call.error(&error))?;
        let new_version_id = written
            .version_id()
            .ok_or_else(|| put_call.fatal("the response carries no version id although versioning is enabled; check the bucket's versioning"))?
            .to_string();
        tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), version_id = %new_version_id, serial = intent.new_serial, "wrote the state version");

        self.finish(cx, phase, intent, &new_version_id, &body, ResourceEvent::Created).await
    }

    /// Verifies the written version, updates the lock table's digest and
    /// records the result. Runs both after a write and when adopting one.
    async fn finish(
        &self,
        cx: &StepContext,
        phase: Phase,
        intent: &WriteIntent,
        new_version_id: &str,
        expected: &[u8],
        event: ResourceEvent,
    ) -> Result<WriteOutcome, ActionError> {
        let p = &self.params;
        let s3 = self.s3();

        cx.progress("verifying the written version", Some(80.0));
        let stored = fetch_version(&s3, &p.bucket, &p.key, &p.region, new_version_id).await?;
        let stored_sha256 = sha256_hex(&stored);
        let stored_serial = TerraformState::parse(&stored).ok().map(|state| state.serial);
        if stored_sha256 != intent.sha256 || stored != expected || stored_serial != Some(intent.new_serial) {
            return Err(ActionError::fatal(format!(
                "version {new_version_id} of {} in {} does not read back as written: SHA-256 {stored_sha256} and serial {stored_serial:?}, expected {} and serial {}; inspect the version by hand",
                self.object(),
                p.region,
                intent.sha256,
                intent.new_serial
            )));
        }

        let md5 = md5_hex(&stored);
        if let Some(table) = &p.lock_table {
            cx.progress("updating the lock table digest", Some(90.0));
            lock::write_digest(&self.env.aws.dynamodb(&p.region), table, &p.bucket, &p.key, &p.region, &md5).await?;
        }

        // A lock left by an earlier attempt that crashed after writing.
        if event == ResourceEvent::Adopted {
            lock::release_native_lock(&s3, &p.bucket, &p.key, &p.region, &intent.lock_id).await?;
        }

        cx.record_note(phase.note("new_version_id"), serde_json::json!(new_version_id)).await?;
        cx.record_resource(ResourceRecord {
            resource_type: "s3:object-version".to_string(),
            id: format!("{}?versionId={new_version_id}", self.object()),
            region: p.region.clone(),
            arn: Some(format!("arn:aws:s3:::{}/{}", p.bucket, p.key)),
            event,
        })
        .await?;
        cx.record_check(serde_json::json!({
            "check": "tfstate_written",
            "object": self.object(),
            "version_id": new_version_id,
            "restored_from_version_id": intent.target_version_id,
            "previous_version_id": intent.previous_version_id,
            "serial": intent.new_serial,
            "sha256": stored_sha256,
            "md5": md5,
            "digest_updated": p.lock_table.is_some(),
        }))
        .await?;

        Ok(WriteOutcome {
            previous_version_id: intent.previous_version_id.clone(),
            restored_from_version_id: intent.target_version_id.clone(),
            new_version_id: new_version_id.to_string(),
            new_serial: intent.new_serial,
            lineage: intent.lineage.clone(),
        })
    }

    async fn object_tags(&self, version_id: &str) -> Result<Vec<(String, String)>, ActionError> {
        let p = &self.params;
        let resource = format!("{}?versionId={version_id}", self.object());
        let call = AwsCall::new("GetObjectTagging", &resource, &p.region);
        let output = self
            .s3()
            .get_object_tagging()
            .bucket(&p.bucket)
            .key(&p.key)
            .version_id(version_id)
            .send()
            .await
            .map_err(|error| call.error(&error))?;
        Ok(output.tag_set().iter().map(|tag| (tag.key().to_string(), tag.value().to_string())).collect())
    }
}

#[async_trait]
impl Action for TfstateRollback {
    fn describe(&self) -> String {
        let s = &self.params.select;
        let selector = if let Some(id) = &s.version_id {
            format!("version {id}")
        } else if let Some(before) = &s.before {
            format!("the newest version written before {before}")
        } else if let Some(back) = s.versions_back {
            format!("the version {back} back from the current one")
        } else if let Some(serial) = s.serial {
            format!("the newest version with serial {serial}")
        } else {
            "an unspecified version".to_string()
        };
        format!("make {selector} of Terraform state {} in {} current again, as a new version", self.object(), self.params.region)
    }

    async fn dry_run(&self, cx: &StepContext) -> Result<Vec<String>, ActionError> {
        let p = &self.params;
        let s3 = self.s3();
        require_versioning(&s3, &p.bucket, &p.region).await?;
        let (versions, current) = self.versions().await?;
        let target = select_version(&versions, &p.select)
            .map_err(|problem| ActionError::fatal(format!("cannot choose a version of {} in {}: {problem}", self.object(), p.region)))?
            .version_id
            .clone();
        let loaded = self.load(&versions, current, &target).await?;
        if loaded.target.version_id == loaded.current.version_id {
            return Err(ActionError::fatal(format!(
                "the selector chooses version {target}, which is already the current version of {} in {}; nothing to roll back",
                self.object(),
                p.region
            )));
        }
        self.check_lineage(&loaded, p.allow_lineage_change)?;

        let new_serial = loaded.current_state.serial + 1;
        let body = loaded.target_state.to_bytes_with_serial(new_serial);
        let diff = loaded.current_state.diff(&loaded.target_state);
        let list = |addresses: &[String]| if addresses.is_empty() { "none".to_string() } else { addresses.join(", ") };

        let mut lines = vec![
            format!(
                "would write the content of version {} of {} in {} as a new current version with serial {new_serial}",
                loaded.target.version_id,
                self.object(),
                p.region
            ),
            format!(
                "current: version {}, serial {}, lineage {}, {} resources, MD5 {}, SHA-256 {}",
                loaded.current.version_id,
                loaded.current_state.serial,
                loaded.current_state.lineage,
                loaded.current_state.resource_count(),
                md5_hex(&loaded.current_bytes),
                sha256_hex(&loaded.current_bytes)
            ),
            format!(
                "target: version {}, serial {}, lineage {}, {} resources, MD5 {}, SHA-256 {}",
                loaded.target.version_id,
                loaded.target_state.serial,
                loaded.target_state.lineage,
                loaded.target_state.resource_count(),
                md5_hex(&loaded.target_bytes),
                sha256_hex(&loaded.target_bytes)
            ),
            format!("written document: serial {new_serial}, MD5 {}, SHA-256 {}", md5_hex(&body), sha256_hex(&body)),
            format!("resources added ({}): {}", diff.added.len(), list(&diff.added)),
            format!("resources removed ({}): {}", diff.removed.len(), list(&diff.removed)),
            format!("resources changed ({}): {}", diff.changed.len(), list(&diff.changed)),
        ];
        if loaded.current_state.lineage != loaded.target_state.lineage {
            lines.push(format!(
                "lineage changes from {} to {} (allow_lineage_change is set)",
                loaded.current_state.lineage, loaded.target_state.lineage
            ));
        }
        let held = self.held_locks(None).await?;
        if held.is_empty() {
            lines.push("no Terraform lock is held".to_string());
        } else {
            for holder in &held {
                lines.push(format!("the run would be rejected now because {}", holder.describe()));
            }
        }
        if let Some(table) = &p.lock_table {
            lines.push(format!("would set the digest item {} in {table} to {}", lock::dynamodb_digest_id(&p.bucket, &p.key), md5_hex(&body)));
        }
        tracing::info!(run_id = cx.run_id(), step_id = cx.step_id(), target = %loaded.target.version_id, "planned the state rollback");
        Ok(lines)
    }

    async fn run(&self, cx: &StepContext) -> Result<Outputs, ActionError> {
        let p = &self.params;

        // The chosen version is journalled first: after a write, `versions_back`
        // or `before` would choose a different version on re-entry.
        let target = match cx.notes().get(&Phase::Rollback.note("target_version_id")).and_then(|value| value.as_str()) {
            Some(noted) => noted.to_string(),
            None => {
                let (versions, _) = self.versions().await?;
                let chosen = select_version(&versions, &p.select)
                    .map_err(|problem| ActionError::fatal(format!("cannot choose a version of {} in {}: {problem}", self.object(), p.region)))?
                    .version_id
                    .clone();
                cx.record_note(Phase::Rollback.note("target_version_id"), serde_json::json!(chosen)).await?;
                chosen
            }
        };

        let outcome = self.make_current(cx, Phase::Rollback, &target, p.allow_lineage_change, None).await?;
        cx.progress("state rolled back", Some(100.0));

        let mut outputs = Outputs::new();
        outputs.insert("previous_version_id".to_string(), serde_json::json!(outcome.previous_version_id));
        outputs.insert("restored_from_version_id".to_string(), serde_json::json!(outcome.restored_from_version_id));
        outputs.insert("new_version_id".to_string(), serde_json::json!(outcome.new_version_id));
        outputs.insert("new_serial".to_string(), serde_json::json!(outcome.new_serial));
        outputs.insert("lineage".to_string(), serde_json::json!(outcome.lineage));
        Ok(outputs)
    }

    async fn undo(&self, cx: &StepContext, outputs: &Outputs) -> Result<(), ActionError> {
        let output = |name: &str| {
            outputs.get(name).and_then(|value| value.as_str()).map(str::to_string).ok_or_else(|| {
                ActionError::fatal(format!("cannot undo the rollback of {}: the step's output '{name}' is missing", self.object()))
            })
        };
        let previous = output("previous_version_id")?;
        let written = output("new_version_id")?;

        // The lineage may differ when the rollback was allowed to change it;
        // undo restores the earlier state with its own lineage.
        self.make_current(cx, Phase::Undo, &previous, true, Some(&written)).await?;
        cx.progress("state rollback undone", Some(100.0));
        Ok(())
    }
}
