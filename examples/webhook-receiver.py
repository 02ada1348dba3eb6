#!/usr/bin/env python3
"""A roster webhook receiver that verifies every delivery with the Standard Webhooks library.

    pip install standardwebhooks==1.1.0
    ROSTER_WEBHOOK_SECRET=whsec_... python3 examples/webhook-receiver.py 8080

Then, on the roster side: roster webhook add --url https://your-host/roster-events (the secret it prints is the one
above). scripts/webhook-example.sh runs this file against a live roster in CI.
"""
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook

# During a rotation roster signs with the old and the new secret; a receiver keeps either until it has switched.
hook = Webhook(os.environ["ROSTER_WEBHOOK_SECRET"])
seen = set()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            # Checks the signature, and that the timestamp is within five minutes (replays are refused).
            event = hook.verify(body, dict(self.headers))
        except Exception as e:  # noqa: BLE001 - any failure means: not from roster
            self.send_response(400)
            self.end_headers()
            print("rejected:", e, flush=True)
            return
        # Answer 2xx quickly; roster retries anything else, so do slow work after answering.
        self.send_response(204)
        self.end_headers()
        if event["id"] in seen:
            return  # Delivery is at least once: a retry repeats the id.
        seen.add(event["id"])
        data = event["data"]
        if event["type"] == "user.deactivated":
            # The moment to end the person's sessions in the product.
            print("end the sessions of", data["user"]["userName"], "-", data["reasonText"], flush=True)
        print("verified", event["type"], event["id"], flush=True)

    def log_message(self, *args):
        pass


port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
