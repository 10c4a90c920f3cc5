"""Gmail initial-sync throughput against the per-user quota (stand-in, real client).

The stand-in enforces Google's per-user limit (250 quota units per second,
at most one second of burst) and answers every HTTP request after a random
50-100 ms of "server time". The provider syncs an N-message mailbox through
google-api-python-client with its default pacing (240 units/s, batches of 50
messages.get). We report

* throughput in quota units per second (units the server charged / wall time),
* the ratio to the 250 units/s limit (target >= 0.90),
* the same ratio without the server's initial one-second burst allowance,
* the number of 429 answers (target 0).

Usage: ``python bench/gmail_sync.py [--messages N] [--latency-ms LO HI] [--rate R]``.
20,000 messages is ~100k units, i.e. ~7 minutes at the limit: run it in the
background; the default is 2,000 (~45 s).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `make bench` runs the file

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from providers.base import Message, ProviderContext
from providers.google import GmailProvider
from providers.google.settings import GmailAccount
from tests.generate import BASE_TIME, make_message
from tests.standins.google import GoogleStandIn

LIMIT = 250.0
USER = "bench.rep@ourco.example"
SA = "bench@ourco.iam.gserviceaccount.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, nargs=2, default=(50.0, 100.0))
    parser.add_argument("--rate", type=float, default=240.0,
                        help="client pacing in units/s (config default 240)")
    parser.add_argument("--json", action="store_true", help="also print a JSON line")
    args = parser.parse_args()

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    low, high = (x / 1000 for x in args.latency_ms)
    with GoogleStandIn(quota_units_per_second=LIMIT, latency=(low, high)) as standin, \
            tempfile.TemporaryDirectory() as tmp:
        standin.add_service_account(SA, key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        seed_start = time.perf_counter()
        for n in range(1, args.messages + 1):
            standin.add_message(USER, make_message(n, when=BASE_TIME - timedelta(minutes=n)))
        seeded = time.perf_counter() - seed_start
        key_file = Path(tmp) / "sa.json"
        key_file.write_text(json.dumps({
            "type": "service_account", "client_email": SA, "token_uri": standin.token_uri,
            "private_key": key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()}))
        account = GmailAccount.model_validate({
            "id": "bench", "provider": "gmail", "owner": USER, "backfill_days": 3650,
            "auth": {"service_account_file": str(key_file)},
            "endpoints": {"gmail": standin.gmail_endpoint, "gmail_batch": standin.gmail_batch},
            "quota_units_per_second": args.rate})
        provider = GmailProvider(account, ProviderContext(now=lambda: BASE_TIME))
        started = time.perf_counter()
        count = 0
        for page in provider.sync({}):
            count += sum(isinstance(i, Message) for i in page.items)
        elapsed = time.perf_counter() - started
        provider.close()
        units = standin.units(USER)
        throttled = standin.throttled(USER)

    assert count == args.messages, f"synced {count} of {args.messages} messages"
    throughput = units / elapsed
    # the server's bucket starts full: one second of burst is free, so discount it
    steady = max(0.0, units - LIMIT) / elapsed
    print(f"gmail initial sync: {count} messages, {units:.0f} quota units in {elapsed:.1f} s "
          f"(seeding took {seeded:.1f} s)")
    print(f"latency {args.latency_ms[0]:.0f}-{args.latency_ms[1]:.0f} ms/request, "
          f"client pacing {args.rate:.0f} units/s, server limit {LIMIT:.0f} units/s")
    print(f"throughput: {throughput:.1f} units/s = {throughput / LIMIT:.3f} of the limit "
          f"(target >= 0.90); without the initial 1 s burst: {steady:.1f} units/s = "
          f"{steady / LIMIT:.3f}")
    print(f"429 responses: {throttled} (target 0); messages/s: {count / elapsed:.1f}")
    if args.json:
        print(json.dumps({"messages": count, "units": units, "seconds": round(elapsed, 2),
                          "units_per_second": round(throughput, 1),
                          "ratio": round(throughput / LIMIT, 3),
                          "steady_ratio": round(steady / LIMIT, 3), "throttled": throttled}))


if __name__ == "__main__":
    main()
