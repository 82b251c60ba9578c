"""Fault injection: throttling, HTTP 500, HTTP 503 and added latency per operation.

A rule matches an operation name (`DescribeDBClusters`), a service
(`rds:*`), a service and operation (`rds:DescribeDBClusters`) or everything
(`*`). It fires with a probability `rate` drawn from its own seeded RNG, or
for the next `count` matching calls. A rule with `access_key` applies only to
requests signed with that access key id; a rule without one applies to all.
Error bodies use each protocol's real error shape, so SDK retry classifiers
see the codes they see from AWS.
"""

import itertools
import json
import random
import threading
import uuid

from .operations import AwsRequest

KINDS = ("throttle", "internal_error", "unavailable", "latency")

# SigV4 service names of the JSON protocol services this estate serves.
_JSON_SERVICES = {"kms", "dynamodb", "secretsmanager", "logs", "events"}

_QUERY_NAMESPACES = {
    "rds": "http://rds.amazonaws.com/doc/2014-10-31/",
    "elasticloadbalancing": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


class FaultRule:
    _ids = itertools.count(1)

    def __init__(self, body: dict):
        unknown = set(body) - {"match", "kind", "rate", "count", "latency_ms", "access_key", "seed"}
        if unknown:
            raise ValueError(f"unknown fault rule fields {sorted(unknown)}; expected match, kind, rate, "
                             "count, latency_ms, access_key, seed")
        self.match = body.get("match")
        if not isinstance(self.match, str) or not self.match:
            raise ValueError(f"fault rule field 'match' must be an operation, 'service:*' or '*', got {self.match!r}")
        self.kind = body.get("kind")
        if self.kind not in KINDS:
            raise ValueError(f"fault rule kind {self.kind!r} is invalid; expected one of {list(KINDS)}")
        self.rate = body.get("rate")
        self.count = body.get("count")
        if self.rate is None and self.count is None:
            self.rate = 1.0
        if self.rate is not None and not (isinstance(self.rate, (int, float)) and 0.0 <= self.rate <= 1.0):
            raise ValueError(f"fault rule rate must be between 0.0 and 1.0, got {self.rate!r}")
        if self.count is not None and not (isinstance(self.count, int) and self.count >= 0):
            raise ValueError(f"fault rule count must be a non-negative integer, got {self.count!r}")
        self.latency_ms = body.get("latency_ms", 0)
        if self.kind == "latency" and not (isinstance(self.latency_ms, (int, float)) and self.latency_ms > 0):
            raise ValueError(f"a latency rule needs latency_ms > 0, got {self.latency_ms!r}")
        self.access_key = body.get("access_key")
        self.seed = body.get("seed", 0)
        self.id = next(self._ids)
        self.fired = 0
        self._rng = random.Random(self.seed)

    def matches(self, request: AwsRequest) -> bool:
        if self.access_key is not None and self.access_key != request.access_key:
            return False
        if self.match == "*":
            return True
        if ":" in self.match:
            service, operation = self.match.split(":", 1)
            return service == request.service and operation in ("*", request.operation)
        return self.match == request.operation

    def fires(self) -> bool:
        """Decide whether this matching call is hit; consumes one of `count` if set."""
        if self.count is not None:
            if self.count <= 0:
                return False
            self.count -= 1
            self.fired += 1
            return True
        hit = self._rng.random() < self.rate
        if hit:
            self.fired += 1
        return hit

    def to_json(self) -> dict:
        return {"id": self.id, "match": self.match, "kind": self.kind, "rate": self.rate, "count": self.count,
                "latency_ms": self.latency_ms, "access_key": self.access_key, "seed": self.seed,
                "fired": self.fired}


class FaultRules:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, body: dict) -> FaultRule:
        rule = FaultRule(body)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self, access_key: str | None = None) -> int:
        """Remove the rules of one access key, or every rule when `access_key` is None."""
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if access_key is not None and r.access_key != access_key]
            return before - len(self._rules)

    def list(self) -> list[dict]:
        with self._lock:
            return [r.to_json() for r in self._rules]

    def decide(self, request: AwsRequest) -> tuple[float, str | None]:
        """Return the latency to add in ms and the error kind to respond with, if any."""
        latency = 0.0
        error = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(request):
                    continue
                if rule.kind == "latency":
                    if rule.fires():
                        latency += rule.latency_ms
                elif error is None and rule.fires():
                    error = rule.kind
        return latency, error


RULES = FaultRules()


def error_response(kind: str, request: AwsRequest, method: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Render an error in the protocol of the request's service."""
    request_id = str(uuid.uuid4())
    service = request.service or ""
    if service == "s3":
        status, code, message = {
            "throttle": (503, "SlowDown", "Please reduce your request rate."),
            "internal_error": (500, "InternalError", "We encountered an internal error. Please try again."),
            "unavailable": (503, "ServiceUnavailable", "Service is unable to handle request."),
        }[kind]
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{request_id}</RequestId></Error>").encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif service in _JSON_SERVICES:
        status, code, message = {
            "throttle": (400, "ThrottlingException", "Rate exceeded"),
            "internal_error": (500, "InternalFailure", "An internal error occurred."),
            "unavailable": (503, "ServiceUnavailable", "Service Unavailable"),
        }[kind]
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)]
    else:
        status, code, error_type, message = {
            "throttle": (400, "Throttling", "Sender", "Rate exceeded"),
            "internal_error": (500, "InternalFailure", "Receiver", "An internal error occurred."),
            "unavailable": (503, "ServiceUnavailable", "Receiver", "Service Unavailable"),
        }[kind]
        namespace = _QUERY_NAMESPACES.get(service, f"http://{service}.amazonaws.com/")
        body = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>{error_type}</Type><Code>{code}</Code>'
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    if method == "HEAD":
        body = b""
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body
