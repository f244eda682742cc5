import json
import os
from datetime import datetime, timedelta, timezone

import redis

# TLOG_PROTOCOL: 2 or 3; unset, the client's default (RESP3 from redis-py 8 on, RESP2 before).
protocol = os.environ.get("TLOG_PROTOCOL")
r = redis.Redis(
    port=int(os.environ.get("TLOG_PORT", "6379")),
    protocol=int(protocol) if protocol else None,
    decode_responses=True,
)


def record(reply):
    """A record as a dict: RESP3 gives a dict, RESP2 a flat [field, value, ...] list."""
    if reply is None or isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2]))


def show(label, rec):
    print(label, rec["id"], rec["format"], rec["message"], ",".join(rec["tags"]))


# TLOG.LOG prefix message [tag ...] returns the new record's id.
for name in ["ann", "bob", "cy", "dee", "eve"]:
    rid = r.execute_command("TLOG.LOG", "demo", f"{name} signed up", "users", f"user:{name}")
    print("logged", rid)
print("logged", r.execute_command("TLOG.LOG", "demo", "backup done", "ops"))

# A JSON message: everything after MESSAGE is data, the message first, then the tags.
order = {"order": 17, "user": "ann", "total": 9.5}
rid = r.execute_command("TLOG.ADD", "demo", "JSON", "MESSAGE", json.dumps(order), "orders", "user:ann")
print("logged", rid)

# The records of one tag, newest first.
for reply in r.execute_command("TLOG.GET", "demo", "user:ann"):
    show("user:ann", record(reply))

# The newest record of a tag; a JSON message comes back as its JSON text.
latest = record(r.execute_command("TLOG.LATEST", "demo", "orders"))
show("latest order", latest)
print("order", json.loads(latest["message"])["order"])
when = datetime.fromisoformat(latest["ts"])  # RFC 3339, UTC, microseconds
print("written", "just now" if datetime.now(timezone.utc) - when < timedelta(minutes=1) else when)
if r.execute_command("TLOG.LATEST", "demo", "refunds") is None:
    print("no refunds")

# Every record, newest first, 3 at a time: each page starts below the last id of the page before.
# An empty page is the end (a short one may not be: a read stops early at its scan limit).
page_size = 3
bounds = []  # no bound for the first page
while True:
    page = [record(x) for x in r.execute_command("TLOG.GET", "demo", "__all__", "LIMIT", page_size, *bounds)]
    if not page:
        break
    print("page", *[rec["id"] for rec in page])
    bounds = ["BEFORE", page[-1]["id"]]
