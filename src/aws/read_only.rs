//! An SDK interceptor that rejects mutating operations before they are sent.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Rejects every operation that [`is_mutating_operation`] classifies as mutating.
#[derive(Debug, Clone, Copy)]
pub struct ReadOnlyGuard;

/// Whether an AWS API operation can change state. Only operations whose
/// names start with `Describe`, `List`, `Get` or `Head` count as reads. An
/// unknown verb counts as mutating, so the guard fails closed.
pub fn is_mutating_operation(operation: &str) -> bool {
    const READ_PREFIXES: &[&str] = &["Describe", "List", "Get", "Head"];
    !READ_PREFIXES.iter().any(|prefix| operation.starts_with(prefix))
}

impl Intercept for ReadOnlyGuard {
    fn name(&self) -> &'static str {
        "drctl::ReadOnlyGuard"
    }

    // `read_before_serialization`, not `read_before_execution`: a client-level
    // interceptor's `read_before_execution` runs before the operation's
    // metadata is in the config bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else {
            return Err("refusing an AWS call without operation metadata in a read-only run".into());
        };
        if is_mutating_operation(metadata.name()) {
            return Err(format!(
                "refusing mutating call {}:{} in a read-only run (dry run or preflight)",
                metadata.service(),
                metadata.name()
            )
            .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_verbs_are_not_mutating() {
        for operation in ["DescribeDBClusters", "ListObjectVersions", "GetBucketVersioning", "HeadObject"] {
            assert!(!is_mutating_operation(operation), "{operation}");
        }
    }

    #[test]
    fn write_verbs_are_mutating() {
        for operation in [
            "RestoreDBClusterToPointInTime",
            "CopyDBClusterSnapshot",
            "PutObject",
            "CopyObject",
            "ModifyListener",
            "RegisterTargets",
            "DeleteDBCluster",
        ] {
            assert!(is_mutating_operation(operation), "{operation}");
        }
    }
}
