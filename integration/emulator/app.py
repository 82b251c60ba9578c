"""The WSGI layer in front of moto: control API, fault injection, request log, response fixes."""

import io
import threading
import time

from . import control, s3_fixes
from .faults import RULES, error_response
from .operations import identify
from .request_log import LOG

# moto's models are not thread-safe, and the threaded server runs requests
# concurrently, so each AWS request and control call runs under this lock.
# Injected latency is slept outside it.
MODEL_LOCK = threading.Lock()

_REASONS = {200: "OK", 400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}


def _read_body(environ) -> bytes:
    """Read the whole request body and put it back so moto can read it again."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _headers(environ) -> dict:
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return headers


class EstateApp:
    """Wrap moto's dispatcher; every AWS request is identified, may be faulted, and is logged."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_estate/"):
            with MODEL_LOCK:
                return control.handle(environ, start_response)
        if path.startswith("/moto-api"):
            with MODEL_LOCK:
                return [b"".join(self.inner(environ, start_response))]

        started = time.monotonic()
        method = environ["REQUEST_METHOD"]
        body = _read_body(environ)
        request = identify(method, path, environ.get("QUERY_STRING", ""), _headers(environ), body)

        latency_ms, fault = RULES.decide(request)
        if latency_ms:
            time.sleep(latency_ms / 1000.0)
        if fault is not None:
            status, headers, payload = error_response(fault, request, method)
            start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
            LOG.record(request, status, fault, started)
            return [payload]

        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        with MODEL_LOCK:
            chunks = self.inner(environ, capture)
            try:
                payload = b"".join(chunks)
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()
        status_line, headers = captured["status"], captured["headers"]
        status = int(status_line.split(" ", 1)[0])
        status, headers, payload = s3_fixes.fix_response(request, status, headers, payload)
        if payload is not None and method != "HEAD":
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {status_line.split(' ', 1)[1] if ' ' in status_line else ''}".strip(), headers)
        LOG.record(request, status, None, started)
        return [payload]
