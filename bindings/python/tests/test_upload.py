"""Uploading through the bindings: a loopback collector (http.server in a thread) receives
the gzipped Segment batch, once through Reach's built-in transport and once through an
HttpTransport written in Python (the foreign trait an app implements over its own stack)."""

from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import reach
from conftest import make_config

PV = reach.PropertyValue


class Collector:
    def __init__(self):
        self.batches: list[dict] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with collector.lock:
                    collector.batches.append(json.loads(body))
                    collector.headers.append({k.lower(): v for k, v in self.headers.items()})
                out = b'{"success": true}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def events(self):
        with self.lock:
            return [e for b in self.batches for e in b["batch"]]

    def wait_for(self, n, timeout=20.0):
        deadline = time.monotonic() + timeout
        while len(self.events()) < n:
            assert time.monotonic() < deadline, f"only {len(self.events())} of {n} events arrived"
            time.sleep(0.02)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.close()


class UrllibTransport(reach.HttpTransport):
    """An app's own HTTP stack, here urllib: Reach hands it every request."""

    def __init__(self):
        self.requests = []

    def send(self, request):
        self.requests.append(request.url)
        req = urllib.request.Request(
            request.url,
            data=bytes(request.body) if request.method == "POST" else None,
            method=request.method,
            headers={h.name: h.value for h in request.headers},
        )
        try:
            with urllib.request.urlopen(req, timeout=request.timeout_ms / 1000) as resp:
                return reach.HttpResponse(
                    status=resp.status,
                    headers=[reach.HttpHeader(name=k, value=v) for k, v in resp.headers.items()],
                    body=resp.read(),
                )
        except urllib.error.HTTPError as e:
            return reach.HttpResponse(status=e.code, headers=[], body=e.read())
        except urllib.error.URLError as e:
            raise reach.HttpTransportError.CouldNotConnect(str(e.reason))


def test_a_batch_arrives_at_the_configured_server(open_reach, data_dir, collector):
    r = open_reach(data_dir, server_url=collector.url, write_key="wk-py", record_app_open=False)
    r.track("add_to_cart", {"sku": PV.STRING_VALUE("A1")})
    r.screen("home", {})
    assert r.flush() is True  # starts the upload; never waits for the network
    collector.wait_for(2)
    events = collector.events()
    track = next(e for e in events if e["type"] == "track")
    assert track["event"] == "add_to_cart"
    assert track["properties"] == {"sku": "A1"}
    assert track["context"]["reach"]["seq"] >= 1
    assert collector.headers[0]["authorization"].startswith("Basic ")
    # The network thread counts the acknowledged events, then the worker
    # deletes them and publishes `stored` after its commit: wait for both.
    deadline = time.monotonic() + 20
    while r.diagnostics().uploaded_events < 2 or r.diagnostics().stored != 0:
        assert time.monotonic() < deadline, r.diagnostics()
        time.sleep(0.02)
    assert r.diagnostics().uploaded_events == 2
    assert r.diagnostics().stored == 0


def test_a_python_http_transport_carries_the_batch(open_reach, data_dir, collector):
    transport = UrllibTransport()
    r = open_reach(
        data_dir,
        server_url=collector.url,
        write_key="wk-py",
        record_app_open=False,
        http_transport=transport,
    )
    r.track("purchase", {"price": PV.FLOAT_VALUE(9.5)})
    assert r.on_background() is True
    collector.wait_for(1)
    assert collector.events()[0]["event"] == "purchase"
    assert any(u.endswith("/v1/batch") for u in transport.requests)


def test_without_a_server_nothing_is_sent(data_dir):
    c = reach.ReachConfig(data_dir=str(data_dir), app=make_config(data_dir).app,
                          consent=reach.Consent.GRANTED)
    assert c.server_url is None
    assert c.upload_flush_at == 20
    assert c.upload_interval_ms == 30_000
    assert c.upload_max_batch_bytes == 512_000
    assert c.min_pack_interval_ms == 600_000
    assert c.pack_name == "default"
    assert c.pack_public_keys == []
