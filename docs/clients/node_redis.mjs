import { createClient } from "redis";

// TLOG_PROTOCOL: 2 or 3; unset, the client's default (RESP3 from node-redis 6 on, RESP2 before).
const protocol = process.env.TLOG_PROTOCOL;
const client = await createClient({
  url: `redis://127.0.0.1:${process.env.TLOG_PORT ?? 6379}`,
  RESP: protocol ? Number(protocol) : undefined,
}).connect();

// Every argument of sendCommand must be a string.
const tlog = (...args) => client.sendCommand(args.map(String));

// A record as an object: RESP3 gives an object, RESP2 a flat [field, value, ...] array.
function record(reply) {
  if (!Array.isArray(reply)) return reply;
  const rec = {};
  for (let i = 0; i < reply.length; i += 2) rec[reply[i]] = reply[i + 1];
  return rec;
}

const show = (label, rec) => console.log(label, rec.id, rec.format, rec.message, rec.tags.join(","));

// TLOG.LOG prefix message [tag ...] returns the new record's id.
for (const name of ["ann", "bob", "cy", "dee", "eve"]) {
  console.log("logged", await tlog("TLOG.LOG", "demo", `${name} signed up`, "users", `user:${name}`));
}
console.log("logged", await tlog("TLOG.LOG", "demo", "backup done", "ops"));

// A JSON message: everything after MESSAGE is data, the message first, then the tags.
const order = { order: 17, user: "ann", total: 9.5 };
console.log("logged", await tlog("TLOG.ADD", "demo", "JSON", "MESSAGE", JSON.stringify(order), "orders", "user:ann"));

// The records of one tag, newest first.
for (const reply of await tlog("TLOG.GET", "demo", "user:ann")) {
  show("user:ann", record(reply));
}

// The newest record of a tag; a JSON message comes back as its JSON text.
const latest = record(await tlog("TLOG.LATEST", "demo", "orders"));
show("latest order", latest);
console.log("order", JSON.parse(latest.message).order);
const when = new Date(latest.ts); // RFC 3339, UTC, microseconds (Date keeps milliseconds)
console.log("written", Date.now() - when < 60_000 ? "just now" : when.toISOString());
if ((await tlog("TLOG.LATEST", "demo", "refunds")) === null) {
  console.log("no refunds");
}

// Every record, newest first, 3 at a time: each page starts below the last id of the page before.
// An empty page is the end (a short one may not be: a read stops early at its scan limit).
const pageSize = 3;
let bounds = [];
while (true) {
  const page = (await tlog("TLOG.GET", "demo", "__all__", "LIMIT", pageSize, ...bounds)).map(record);
  if (page.length === 0) break;
  console.log("page", ...page.map((rec) => rec.id));
  bounds = ["BEFORE", page.at(-1).id];
}

await client.close();
