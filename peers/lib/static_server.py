#!/usr/bin/env python3
"""Loopback static file server for the private Sigstore stack (standard library only).

Used for three things in peers/stack.sh:
  * the OIDC issuer: /.well-known/openid-configuration and the JWKS, served as
    application/json (OpenID Connect Discovery 1.0, RFC 7517);
  * the TUF repository produced by go-tuf's `tuf` CLI (served read-only);
  * the Rekor v2 read path: rekor-tiles' POSIX storage directory (checkpoint and
    tiles, the C2SP tlog-tiles layout) with /api/ and /healthz proxied to the
    rekor-tiles HTTP port, so writers and readers share one base URL.

Usage: static_server.py --bind 127.0.0.1 --port N --dir DIR [--proxy /api/=http://127.0.0.1:3003]
"""
import argparse
import http.server
import os
import sys
import urllib.error
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--proxy", action="append", default=[], help="PREFIX=URL, repeatable")
    args = ap.parse_args()
    if not args.bind.startswith("127.") and args.bind not in ("::1", "localhost"):
        sys.exit("refusing to bind a non-loopback address")
    proxies = []
    for p in args.proxy:
        prefix, _, url = p.partition("=")
        proxies.append((prefix, url.rstrip("/")))
    root = os.path.abspath(args.dir)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=root, **kw)

        def guess_type(self, path):
            base = os.path.basename(path)
            if base.endswith(".json") or base in ("openid-configuration", "keys", "jwks"):
                return "application/json"
            if base == "checkpoint":
                return "text/plain; charset=utf-8"
            return super().guess_type(path)

        def _proxy(self, method):
            for prefix, url in proxies:
                if self.path.startswith(prefix):
                    n = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(n) if n else None
                    req = urllib.request.Request(url + self.path, data=body, method=method)
                    for h in ("Content-Type", "Accept"):
                        if self.headers.get(h):
                            req.add_header(h, self.headers[h])
                    try:
                        resp = urllib.request.urlopen(req, timeout=60)
                    except urllib.error.HTTPError as e:
                        resp = e
                    data = resp.read()
                    self.send_response(resp.status if hasattr(resp, "status") else resp.code)
                    for h in ("Content-Type",):
                        if resp.headers.get(h):
                            self.send_header(h, resp.headers[h])
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return True
            return False

        def do_GET(self):
            if not self._proxy("GET"):
                super().do_GET()

        def do_HEAD(self):
            if not self._proxy("HEAD"):
                super().do_HEAD()

        def do_POST(self):
            if not self._proxy("POST"):
                self.send_error(405)

        def log_message(self, fmt, *a):
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % a))

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    srv = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    print(f"serving {root} on http://{args.bind}:{args.port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
