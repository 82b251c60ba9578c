//! Turning AWS SDK errors into executor errors that name the call.
//!
//! Every message says which operation failed, on which resource and in which
//! region, because at 3 a.m. "AccessDenied" alone does not say what to fix.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use drctl_executor::{ActionError, ErrorClass};

/// Error codes that mean "slow down"; all are retried with backoff.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "EC2ThrottledException",
    "BandwidthLimitExceeded",
];

/// Error codes of a resource busy in another operation. They are retried,
/// because the other operation will finish.
const TRANSITIONAL_CODES: &[&str] = &[
    "InvalidDBClusterStateFault",
    "InvalidDBInstanceState",
    "InvalidDBInstanceStateFault",
    "InvalidDBClusterSnapshotStateFault",
    "ResourceInUse",
    "ResourceInUseException",
    "OperationAborted",
    "PriorRequestNotComplete",
    "ConditionalRequestConflict",
];

/// Server-side codes that AWS documents as safe to retry.
const SERVER_CODES: &[&str] = &["InternalFailure", "InternalError", "ServiceUnavailable", "InternalServerError"];

/// Error codes that mean the resource does not exist.
const NOT_FOUND_CODES: &[&str] = &[
    "DBClusterNotFoundFault",
    "DBInstanceNotFound",
    "DBInstanceNotFoundFault",
    "DBClusterSnapshotNotFoundFault",
    "DBSnapshotNotFound",
    "NoSuchKey",
    "NoSuchVersion",
    "NotFound",
    "NoSuchBucket",
    "TargetGroupNotFound",
    "ListenerNotFound",
    "RuleNotFound",
    "LoadBalancerNotFound",
    "ResourceNotFoundException",
    "NotFoundException",
];

/// Classifies an AWS error code (and HTTP status, when known) for retrying.
pub fn classify_code(code: Option<&str>, status: Option<u16>) -> ErrorClass {
    match code {
        Some(code) if THROTTLING_CODES.contains(&code) => ErrorClass::Retryable,
        Some(code) if TRANSITIONAL_CODES.contains(&code) => ErrorClass::Transitional,
        Some(code) if SERVER_CODES.contains(&code) => ErrorClass::Retryable,
        _ => match status {
            Some(429) => ErrorClass::Retryable,
            Some(status) if status >= 500 => ErrorClass::Retryable,
            _ => ErrorClass::Fatal,
        },
    }
}

/// Returns whether an AWS error code means the resource does not exist.
pub fn is_not_found(code: Option<&str>) -> bool {
    code.is_some_and(|code| NOT_FOUND_CODES.contains(&code))
}

/// Names one AWS call, for error messages: the operation, the resource and the region.
#[derive(Debug, Clone, Copy)]
pub struct AwsCall<'a> {
    pub operation: &'static str,
    pub resource: &'a str,
    pub region: &'a str,
}

impl<'a> AwsCall<'a> {
    pub fn new(operation: &'static str, resource: &'a str, region: &'a str) -> Self {
        AwsCall { operation, resource, region }
    }

    /// Converts an SDK error into an [`ActionError`] whose class decides retrying.
    pub fn error<E>(&self, error: &SdkError<E, Response>) -> ActionError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let (class, detail) = match error {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = service.err().code();
                let message = service.err().message().unwrap_or("no message");
                let class = classify_code(code, Some(status));
                (class, format!("{}: {message} (HTTP {status})", code.unwrap_or("unknown error")))
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                (ErrorClass::Retryable, DisplayErrorContext(error).to_string())
            }
            _ => (ErrorClass::Fatal, DisplayErrorContext(error).to_string()),
        };
        ActionError::new(
            class,
            format!("{} on {} in {} failed: {detail}", self.operation, self.resource, self.region),
        )
    }

    /// The error code of a service error, if the error came from the service.
    pub fn code<E: ProvideErrorMetadata>(error: &SdkError<E, Response>) -> Option<&str> {
        match error {
            SdkError::ServiceError(service) => service.err().code(),
            _ => None,
        }
    }

    /// An error this call raises itself, such as a missing field in a response.
    pub fn fatal(&self, problem: impl std::fmt::Display) -> ActionError {
        ActionError::fatal(format!("{} on {} in {}: {problem}", self.operation, self.resource, self.region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_retryable() {
        assert_eq!(classify_code(Some("Throttling"), Some(400)), ErrorClass::Retryable);
        assert_eq!(classify_code(Some("SlowDown"), Some(503)), ErrorClass::Retryable);
    }

    #[test]
    fn server_errors_are_retryable() {
        assert_eq!(classify_code(None, Some(503)), ErrorClass::Retryable);
        assert_eq!(classify_code(Some("InternalFailure"), Some(500)), ErrorClass::Retryable);
    }

    #[test]
    fn busy_resource_is_transitional() {
        assert_eq!(classify_code(Some("InvalidDBClusterStateFault"), Some(400)), ErrorClass::Transitional);
    }

    #[test]
    fn access_denied_is_fatal() {
        assert_eq!(classify_code(Some("AccessDenied"), Some(403)), ErrorClass::Fatal);
        assert_eq!(classify_code(Some("InvalidRestoreFault"), Some(400)), ErrorClass::Fatal);
    }
}
