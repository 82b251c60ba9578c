"""Fixes for moto 5.2.5 S3 responses that the Rust SDK rejects or that differ from AWS."""

import re

from .operations import AwsRequest

_S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


def fix_response(request: AwsRequest, status: int, headers: list, body: bytes):
    """Return the (status, headers, body) to send in place of moto's."""
    if request.service != "s3" or status != 200:
        return status, headers, body

    if request.operation == "GetBucketVersioning":
        # AWS returns a VersioningConfiguration root element, and the Rust SDK
        # rejects any other root. moto 5.2.5 sends GetBucketVersioningResponse instead.
        text = body.decode("utf-8", "replace")
        fields = "".join(m.group(0) for m in re.finditer(r"<(Status|MfaDelete)>[^<]*</\1>", text))
        if "<VersioningConfiguration" not in text:
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
                    f'<VersioningConfiguration xmlns="{_S3_NAMESPACE}">{fields}</VersioningConfiguration>').encode()
    return status, headers, body
