"""Unit tests of request identification, redaction and fault rules (no server needed).

Run from integration/: .venv/bin/python -m unittest discover -s tests -t .
"""

import unittest

from emulator.faults import FaultRule, FaultRules, error_response
from emulator.operations import identify, redact

AUTH = "AWS4-HMAC-SHA256 Credential=AKIATEST/20261204/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"


def s3(method, path, query="", headers=None):
    all_headers = {"authorization": AUTH.format(region="eu-west-2", service="s3")}
    all_headers.update(headers or {})
    return identify(method, path, query, all_headers, b"")


class S3OperationTest(unittest.TestCase):
    def test_s3_operations_and_mutating(self):
        cases = [
            ("GET", "/", "", {}, "ListBuckets", False),
            ("GET", "/bucket", "versioning", {}, "GetBucketVersioning", False),
            ("PUT", "/bucket", "versioning", {}, "PutBucketVersioning", True),
            ("GET", "/bucket", "encryption", {}, "GetBucketEncryption", False),
            ("GET", "/bucket", "versions&prefix=a", {}, "ListObjectVersions", False),
            ("GET", "/bucket", "list-type=2", {}, "ListObjectsV2", False),
            ("HEAD", "/bucket", "", {}, "HeadBucket", False),
            ("PUT", "/bucket", "", {}, "CreateBucket", True),
            ("GET", "/bucket/a/b.tfstate", "versionId=1", {}, "GetObject", False),
            ("HEAD", "/bucket/a/b.tfstate", "", {}, "HeadObject", False),
            ("PUT", "/bucket/a/b.tfstate", "", {}, "PutObject", True),
            ("PUT", "/bucket/a/c", "", {"x-amz-copy-source": "bucket/a/b"}, "CopyObject", True),
            ("DELETE", "/bucket/a/b.tfstate", "", {}, "DeleteObject", True),
            ("POST", "/bucket", "delete", {}, "DeleteObjects", True),
        ]
        for method, path, query, headers, operation, mutating in cases:
            with self.subTest(operation=operation):
                request = s3(method, path, query, headers)
                self.assertEqual(request.operation, operation)
                self.assertEqual(request.mutating, mutating)
                self.assertEqual(request.service, "s3")
                self.assertEqual(request.region, "eu-west-2")
                self.assertEqual(request.access_key, "AKIATEST")


class QueryAndJsonTest(unittest.TestCase):
    def test_query_action_and_redaction(self):
        body = (b"Action=CreateDBCluster&Version=2014-10-31&DBClusterIdentifier=c1"
                b"&MasterUserPassword=hunter2hunter2")
        request = identify("POST", "/", "", {
            "authorization": AUTH.format(region="eu-west-2", service="rds"),
            "content-type": "application/x-www-form-urlencoded"}, body)
        self.assertEqual(request.operation, "CreateDBCluster")
        self.assertTrue(request.mutating)
        self.assertEqual(request.params["DBClusterIdentifier"], "c1")
        self.assertEqual(request.params["MasterUserPassword"], "REDACTED")
        self.assertNotIn("Action", request.params)

    def test_copy_snapshot_mutating_describe_not(self):
        for action, mutating in [("CopyDBClusterSnapshot", True), ("DescribeDBClusters", False),
                                 ("DescribeTargetHealth", False), ("ModifyListener", True)]:
            with self.subTest(action=action):
                request = identify("POST", "/", "", {
                    "authorization": AUTH.format(region="eu-west-2", service="rds"),
                    "content-type": "application/x-www-form-urlencoded"}, f"Action={action}".encode())
                self.assertEqual(request.mutating, mutating)

    def test_json_target_and_nested_redaction(self):
        request = identify("POST", "/", "", {
            "authorization": AUTH.format(region="us-east-1", service="secretsmanager"),
            "x-amz-target": "secretsmanager.PutSecretValue"},
            b'{"SecretId": "s", "SecretString": "x", "Nested": {"SessionToken": "t", "Keep": 1}}')
        self.assertEqual(request.operation, "PutSecretValue")
        self.assertEqual(request.region, "us-east-1")
        self.assertEqual(request.params["SecretString"], "REDACTED")
        self.assertEqual(request.params["Nested"], {"SessionToken": "REDACTED", "Keep": 1})

    def test_redact_lists(self):
        self.assertEqual(redact([{"Password": "p"}, {"Name": "n"}]), [{"Password": "REDACTED"}, {"Name": "n"}])


class FaultRuleTest(unittest.TestCase):
    def request(self, access_key="AKIATEST", service="rds", operation="DescribeDBClusters"):
        return identify("POST", "/", "", {
            "authorization": AUTH.format(region="eu-west-2", service=service).replace("AKIATEST", access_key),
            "content-type": "application/x-www-form-urlencoded"}, f"Action={operation}".encode())

    def test_invalid_rules_rejected(self):
        for body in [{"kind": "throttle"}, {"match": "*", "kind": "nope"}, {"match": "*", "kind": "throttle", "rate": 2},
                     {"match": "*", "kind": "latency"}, {"match": "*", "kind": "throttle", "extra": 1}]:
            with self.subTest(body=body):
                with self.assertRaises(ValueError):
                    FaultRule(body)

    def test_matching_forms(self):
        request = self.request()
        self.assertTrue(FaultRule({"match": "*", "kind": "throttle"}).matches(request))
        self.assertTrue(FaultRule({"match": "rds:*", "kind": "throttle"}).matches(request))
        self.assertTrue(FaultRule({"match": "rds:DescribeDBClusters", "kind": "throttle"}).matches(request))
        self.assertTrue(FaultRule({"match": "DescribeDBClusters", "kind": "throttle"}).matches(request))
        self.assertFalse(FaultRule({"match": "s3:*", "kind": "throttle"}).matches(request))
        self.assertFalse(FaultRule({"match": "*", "kind": "throttle", "access_key": "OTHER"}).matches(request))

    def test_count_and_clear_by_key(self):
        rules = FaultRules()
        rules.add({"match": "*", "kind": "unavailable", "count": 1, "access_key": "AKIATEST"})
        rules.add({"match": "*", "kind": "throttle", "access_key": "OTHER"})
        self.assertEqual(rules.decide(self.request()), (0.0, "unavailable"))
        self.assertEqual(rules.decide(self.request()), (0.0, None))
        self.assertEqual(rules.clear("AKIATEST"), 1)
        self.assertEqual(len(rules.list()), 1)

    def test_error_shapes(self):
        status, _, body = error_response("throttle", self.request(), "POST")
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>Throttling</Code><Message>Rate exceeded</Message>", body)
        status, _, body = error_response("throttle", self.request(service="s3"), "GET")
        self.assertEqual(status, 503)
        self.assertIn(b"<Code>SlowDown</Code>", body)
        status, _, body = error_response("throttle", self.request(service="kms"), "POST")
        self.assertEqual((status, b"ThrottlingException" in body), (400, True))
        _, _, body = error_response("internal_error", self.request(service="s3"), "HEAD")
        self.assertEqual(body, b"")


if __name__ == "__main__":
    unittest.main()
