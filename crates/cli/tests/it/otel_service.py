"""A small shop service instrumented with the OpenTelemetry SDK from PyPI.

It serves HTTP requests on a loopback port and calls itself: `/orders` runs
an N+1 pattern of SQLite queries, `/report` runs a deliberately slow query,
and `/users/{id}` does a little work whose cost depends on the release. Its
spans go to liveops through the SDK's OTLP/HTTP protobuf exporter, or, in
JSON mode, through the SDK's own OTLP encoder and protobuf's JSON mapping
(which writes ids in base64 and 64-bit integers as strings).

Usage: otel_service.py ENDPOINT KEY VERSION protobuf|json HANDLER_MS
Prints one JSON line per server span: route and duration in nanoseconds.
"""

import json
import sqlite3
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from google.protobuf.json_format import MessageToJson

endpoint, key, version, mode, handler_ms = sys.argv[1:6]
handler_ms = float(handler_ms)


class JsonExporter(SpanExporter):
    """OTLP/HTTP JSON with the SDK's encoder: what a JSON exporter sends."""

    def export(self, spans):
        body = MessageToJson(encode_spans(spans)).encode()
        req = urllib.request.Request(
            endpoint,
            data=body,
            headers={"Content-Type": "application/json", "Authorization": "Bearer " + key},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


if mode == "protobuf":
    exporter = OTLPSpanExporter(endpoint=endpoint, headers={"Authorization": "Bearer " + key})
else:
    exporter = JsonExporter()
kept = InMemorySpanExporter()
resource = Resource.create(
    {"service.name": "shop", "service.version": version, "host.name": "web-1"}
)
provider = TracerProvider(resource=resource)
provider.add_span_processor(BatchSpanProcessor(exporter))
provider.add_span_processor(SimpleSpanProcessor(kept))
tracer = provider.get_tracer("shop")

# System load through the SDK's OTLP/HTTP metric exporter (protobuf).
reader = PeriodicExportingMetricReader(
    OTLPMetricExporter(
        endpoint=endpoint.replace("/v1/traces", "/v1/metrics"),
        headers={"Authorization": "Bearer " + key},
    ),
    export_interval_millis=60000,
)
meters = MeterProvider(resource=resource, metric_readers=[reader])
meter = meters.get_meter("shop")
orders_served = meter.create_counter("orders.served")
queue = {"depth": 0}
meter.create_observable_gauge(
    "queue.depth", callbacks=[lambda options: [Observation(queue["depth"])]], unit="1"
)

db = sqlite3.connect(":memory:", check_same_thread=False)
db_lock = threading.Lock()
db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT)")
db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, order_id INTEGER, name TEXT)")
for o in range(10):
    db.execute("INSERT INTO orders VALUES (?, ?)", (o, "c%d" % o))
    for i in range(3):
        db.execute("INSERT INTO items (order_id, name) VALUES (?, ?)", (o, "item"))


def query(sql, args=(), extra_secs=0.0):
    attrs = {"db.system": "sqlite", "db.statement": sql, "db.name": "shop"}
    with tracer.start_as_current_span("SELECT shop", kind=SpanKind.CLIENT, attributes=attrs):
        with db_lock:
            rows = db.execute(sql, args).fetchall()
        if extra_secs:
            time.sleep(extra_secs)
        return rows


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/orders":
            route = "/orders"
        elif path == "/report":
            route = "/report"
        else:
            route = "/users/{id}"
        attrs = {"http.request.method": "GET", "http.route": route, "url.path": path}
        with tracer.start_as_current_span("GET " + route, kind=SpanKind.SERVER, attributes=attrs) as span:
            if route == "/orders":
                orders_served.add(1)
                queue["depth"] = 7
                ids = query("SELECT id FROM orders ORDER BY id LIMIT 10")
                body = []
                for (oid,) in ids:
                    body.append(query("SELECT * FROM items WHERE order_id = ?", (oid,), 0.006))
                payload = json.dumps(body).encode()
            elif route == "/report":
                query("SELECT count(*) FROM items JOIN orders ON items.order_id = orders.id", (), 0.55)
                payload = b"{}"
            else:
                query("SELECT * FROM orders WHERE id = ?", (int(path.rsplit("/", 1)[-1]),))
                time.sleep(handler_ms / 1000.0)
                payload = b"x" * 100
            span.set_attribute("http.response.status_code", 200)
            span.set_attribute("http.response.body.size", len(payload))
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d" % server.server_address[1]
paths = ["/orders"] * 3 + ["/report"] + ["/users/%d" % (i % 7) for i in range(40)]
for p in paths:
    with urllib.request.urlopen(base + p, timeout=10) as r:
        r.read()
server.shutdown()
provider.force_flush()
provider.shutdown()
meters.force_flush()
meters.shutdown()
for s in kept.get_finished_spans():
    if s.kind == SpanKind.SERVER:
        print(json.dumps({"route": "GET " + s.attributes["http.route"],
                          "duration_ns": s.end_time - s.start_time,
                          "trace_id": format(s.context.trace_id, "032x")}))
