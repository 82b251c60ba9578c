"""Identification of an AWS request: access key, region, service, operation, parameters.

The service and region come from the SigV4 credential scope
(`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), the operation from the
protocol: `Action` for Query services, `X-Amz-Target` for JSON services, and
method + path + sub-resource for S3's REST protocol.
"""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")

# S3 sub-resources named in the query string, mapped to the bucket operation suffix.
_S3_BUCKET_SUBRESOURCES = {
    "versioning": "BucketVersioning", "encryption": "BucketEncryption", "policy": "BucketPolicy",
    "tagging": "BucketTagging", "acl": "BucketAcl", "lifecycle": "BucketLifecycleConfiguration",
    "cors": "BucketCors", "location": "BucketLocation", "logging": "BucketLogging",
    "ownershipControls": "BucketOwnershipControls", "publicAccessBlock": "PublicAccessBlock",
    "replication": "BucketReplication", "website": "BucketWebsite", "notification": "BucketNotificationConfiguration",
    "object-lock": "ObjectLockConfiguration",
}

# Operation prefixes that only read. Everything else mutates state.
_READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Head")

_SECRET_NAME = re.compile(r"password|secret|token", re.IGNORECASE)


@dataclass
class AwsRequest:
    access_key: str | None
    region: str | None
    service: str | None
    operation: str | None
    params: dict = field(default_factory=dict)

    @property
    def mutating(self) -> bool:
        return bool(self.operation) and not self.operation.startswith(_READ_ONLY_PREFIXES)


def redact(value):
    """Replace values whose key names a password, secret or token with "REDACTED"."""
    if isinstance(value, dict):
        return {k: ("REDACTED" if _SECRET_NAME.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _s3_operation(method: str, path: str, query: dict, headers: dict) -> tuple[str, dict]:
    parts = unquote(path).lstrip("/").split("/", 1)
    bucket = parts[0] if parts and parts[0] else None
    key = parts[1] if len(parts) > 1 and parts[1] else None
    params = {k: v[0] if len(v) == 1 else v for k, v in query.items()}
    if bucket:
        params["Bucket"] = bucket
    if key:
        params["Key"] = key
    verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}.get(method, method)

    if bucket is None:
        return "ListBuckets", params
    if key is None:
        for sub, name in _S3_BUCKET_SUBRESOURCES.items():
            if sub in query:
                return f"{verb}{name}", params
        if method == "GET":
            if "versions" in query:
                return "ListObjectVersions", params
            if "uploads" in query:
                return "ListMultipartUploads", params
            return ("ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"), params
        if method == "POST" and "delete" in query:
            return "DeleteObjects", params
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(method, verb + "Bucket"), params

    if "tagging" in query:
        return f"{verb}ObjectTagging", params
    if "acl" in query:
        return f"{verb}ObjectAcl", params
    if "uploads" in query and method == "POST":
        return "CreateMultipartUpload", params
    if "uploadId" in query:
        if method == "PUT":
            return "UploadPart", params
        if method == "POST":
            return "CompleteMultipartUpload", params
        if method == "DELETE":
            return "AbortMultipartUpload", params
        return "ListParts", params
    if method == "PUT" and "x-amz-copy-source" in headers:
        params["CopySource"] = headers["x-amz-copy-source"]
        return "CopyObject", params
    return {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject",
            "HEAD": "HeadObject"}.get(method, verb + "Object"), params


def identify(method: str, path: str, query_string: str, headers: dict, body: bytes) -> AwsRequest:
    """Identify an AWS request from its parts; fields stay None where nothing names them."""
    access_key = region = service = operation = None
    match = _CREDENTIAL.search(headers.get("authorization", ""))
    if match:
        access_key, region, service = match.groups()
    else:
        # Presigned URLs carry the credential in the query string.
        credential = parse_qs(query_string).get("X-Amz-Credential", [""])[0].split("/")
        if len(credential) >= 4:
            access_key, region, service = credential[0], credential[2], credential[3]

    query = parse_qs(query_string, keep_blank_values=True)
    params: dict = {}
    target = headers.get("x-amz-target")
    content_type = headers.get("content-type", "")

    if service == "s3":
        operation, params = _s3_operation(method, path, query, headers)
    elif target:
        operation = target.split(".")[-1]
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
    else:
        form = dict(query)
        if "x-www-form-urlencoded" in content_type and body:
            form.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        flat = {k: v[0] if len(v) == 1 else v for k, v in form.items()}
        operation = flat.pop("Action", None)
        flat.pop("Version", None)
        params = flat

    return AwsRequest(access_key, region, service, operation, redact(params) if isinstance(params, dict) else {})
