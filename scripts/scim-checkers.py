#!/usr/bin/env python3
"""Runs the public SCIM conformance checkers, scim2-tester and scim-sanity, against a live roster, prints every
check, and fails on any failure that is not one of roster's deliberate deviations (docs/scim.md, "What the public SCIM
checkers report"). Called by scripts/scim-checkers.sh, which starts roster and installs the checkers.

    scim-checkers.py BASE_URL TOKEN
"""
import json
import subprocess
import sys

# Failures that are roster's choice, each allowed by the RFC text quoted in docs/scim.md. Matched as substrings of the
# checker's own words, so a new failure is never hidden.
EXPECTED = {
    "scim2-tester": [
        # PATCH remove of active: 400 mutability, a user is active or not (RFC 7644 §3.12).
        "Failed to remove attribute 'active'",
        # Members come back with type "User" (RFC 7643 §4.2's canonical value) and display filled in by roster,
        # whatever the request sent in those read-only sub-attributes.
        "Attribute 'members' was not added or has unexpected value",
        "Attribute 'members' was not replaced or has unexpected value",
    ],
    "scim-sanity": [
        # PATCH /Groups answers 204 No Content (RFC 7644 §3.5.2: "or MAY return HTTP status code 204").
        "PATCH /Groups/{id}: Expected HTTP 200, got 204",
        "PATCH /Groups/{id} remove members: Expected 200, got 204",
        # A member that is not a user ("fake-member-id") is refused (RFC 7643 §4.2: a member is the id of a resource).
        "PATCH /Groups/{id} add member: Expected 200, got 400",
    ],
}


def scim2_tester(url: str, token: str) -> list[str]:
    from httpx2 import Client
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    client = SyncSCIMClient(Client(base_url=url, headers={"Authorization": f"Bearer {token}"}))
    failed = []
    for r in check_server(client):
        line = f"{r.status.name:<8} {r.title}: {r.reason or ''}".rstrip()
        print(f"  scim2-tester  {line}")
        if r.status == Status.ERROR or r.status == Status.CRITICAL:
            failed.append(line)
    return failed


def scim_sanity(url: str, token: str) -> list[str]:
    out = subprocess.run(
        ["scim-sanity", "probe", url, "--token", token, "--i-accept-side-effects", "--json-output",
         "--user-domain", "example.com"],
        capture_output=True, text=True, check=False,
    )
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        print(out.stdout, out.stderr)
        return ["scim-sanity did not produce a report"]
    failed = []
    for r in report.get("results", []):
        status = str(r.get("status", "")).upper()
        line = f"{status:<8} {r.get('name', '')}: {r.get('message', '')}".rstrip()
        print(f"  scim-sanity   {line}")
        if status in ("FAIL", "ERROR"):
            failed.append(line)
    return failed


def main() -> int:
    url, token = sys.argv[1], sys.argv[2]
    unexpected = []
    for name, run in (("scim2-tester", scim2_tester), ("scim-sanity", scim_sanity)):
        print(f"==> {name}")
        for line in run(url, token):
            if not any(known in line for known in EXPECTED[name]):
                unexpected.append(f"{name}: {line}")
    if unexpected:
        print("\nFailures that are not deliberate deviations:")
        print("\n".join(f"  {u}" for u in unexpected))
        return 1
    print("\nEvery failure is a deliberate deviation listed in docs/scim.md.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
