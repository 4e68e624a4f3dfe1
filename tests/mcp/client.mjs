// client.mjs - drive Engram's built-in MCP server with the official MCP TypeScript SDK client.
//
//   node client.mjs stdio CHECK   spawn `$ENGRAM_BIN mcp` (env: STATEWAVE_DATABASE_URL,
//                                 STATEWAVE_TENANT_ID)
//   node client.mjs http CHECK    StreamableHTTPClientTransport on $ENGRAM_MCP_URL (headers:
//                                 X-API-Key from $ENGRAM_MCP_KEY, X-Tenant-ID from
//                                 $ENGRAM_MCP_TENANT when set)
//
// CHECK is one of the names in `checks` below. Prints "ok" or "FAIL <reason>" as its last
// line and exits 0 or 1. tests/api/98-mcp.py runs every check on both transports.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

const TOOLS = {
  statewave_ingest_episode: ["subject", "kind", "text", "occurred_at", "source", "idempotency_key"],
  statewave_search_memories: ["subject", "query"],
  statewave_get_context: ["subject", "query"],
  statewave_get_timeline: ["subject"],
  statewave_compile_subject: ["subject"],
  statewave_list_subjects: [],
  engram_handoff: ["subject", "session_id"],
};

const uid = (p) => `${p}:${randomBytes(6).toString("hex")}`;

function transportFor(kind, headers = {}) {
  if (kind === "stdio") {
    const env = { ...process.env };
    return new StdioClientTransport({
      command: process.env.ENGRAM_BIN,
      args: ["mcp"],
      env,
      stderr: "ignore",
    });
  }
  const h = { ...headers };
  if (process.env.ENGRAM_MCP_KEY && !("X-API-Key" in h)) h["X-API-Key"] = process.env.ENGRAM_MCP_KEY;
  if (process.env.ENGRAM_MCP_TENANT) h["X-Tenant-ID"] = process.env.ENGRAM_MCP_TENANT;
  return new StreamableHTTPClientTransport(new URL(process.env.ENGRAM_MCP_URL), {
    requestInit: { headers: h },
  });
}

async function connect(kind, headers) {
  const client = new Client({ name: "engram-mcp-test", version: "1.0.0" });
  await client.connect(transportFor(kind, headers));
  return client;
}

// The JSON of a tool call's one text part.
async function call(client, name, args) {
  const res = await client.callTool({ name, arguments: args });
  assert.equal(res.isError, false, `isError on ${name}: ${JSON.stringify(res)}`);
  assert.equal(res.content.length, 1);
  assert.equal(res.content[0].type, "text");
  return JSON.parse(res.content[0].text);
}

// The McpError a call throws.
async function callError(client, name, args) {
  try {
    const res = await client.callTool({ name, arguments: args });
    throw new Error(`${name}(${JSON.stringify(args)}) succeeded: ${JSON.stringify(res)}`);
  } catch (e) {
    if (!(e instanceof McpError)) throw e;
    return e;
  }
}

function ingestArgs(subject, over = {}) {
  return {
    subject,
    kind: "note",
    text: "hello",
    occurred_at: "2026-01-01T00:00:00Z",
    source: { type: "chat", id: "m-1" },
    idempotency_key: uid("k"),
    ...over,
  };
}

const checks = {
  // initialize: server name, tools capability, the protocol revision the SDK asked for.
  async initialize(kind) {
    const client = await connect(kind);
    assert.equal(client.getServerVersion().name, "engram");
    assert.ok(client.getServerCapabilities().tools, "no tools capability");
    // The SDK asks for its newest revision (LATEST_PROTOCOL_VERSION); Engram answers the
    // newest it speaks, 2025-06-18, which connect() accepts; the HTTP transport keeps it and
    // sends it as MCP-Protocol-Version on every later request.
    if (kind === "http") assert.equal(client.transport.protocolVersion, "2025-06-18");
    assert.match(client.getInstructions(), /statewave_get_context/);
    await client.ping();
    await client.close();
  },

  // tools/list: the six names and engram_handoff, object schemas without extra properties, the subject pattern.
  async list_tools(kind) {
    const client = await connect(kind);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), Object.keys(TOOLS).sort());
    for (const t of tools) {
      const s = t.inputSchema;
      assert.equal(s.type, "object", t.name);
      assert.equal(s.additionalProperties, false, t.name);
      assert.deepEqual((s.required ?? []).slice().sort(), TOOLS[t.name].slice().sort(), t.name);
      if (s.properties.subject) assert.equal(s.properties.subject.pattern, "^[A-Za-z0-9_.:-]+$");
      assert.ok(typeof t.description === "string" && t.description.length > 0);
    }
    const tl = tools.find((t) => t.name === "statewave_get_timeline").inputSchema.properties;
    assert.deepEqual(Object.keys(tl).sort(), ["kinds", "limit", "since", "subject", "until"]);
    assert.equal(tl.limit.maximum, 500);
    assert.equal(tl.kinds.type, "array");
    await client.close();
  },

  // ingest (twice: the key dedupes) -> compile -> context, search, list_subjects.
  async round_trip(kind) {
    const client = await connect(kind);
    const subject = uid("user");
    const args = ingestArgs(subject, { text: "Hi, my name is Ada Lovelace.", kind: "conversation" });
    const first = await call(client, "statewave_ingest_episode", args);
    assert.match(first.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(first, { id: first.id, idempotency_key: args.idempotency_key, duplicate: false });
    const again = await call(client, "statewave_ingest_episode", args);
    assert.deepEqual(again, { ...first, duplicate: true });

    const comp = await call(client, "statewave_compile_subject", { subject });
    assert.equal(comp.subject, subject);
    assert.equal(comp.status, "succeeded");
    assert.ok(comp.memoriesCreated >= 2, JSON.stringify(comp));
    assert.equal(comp.remaining, 0);
    assert.equal(comp.hasMore, false);

    const ctx = await call(client, "statewave_get_context", { subject, query: "What is my name?" });
    assert.equal(ctx.subject, subject);
    assert.match(ctx.assembled_context, /Ada Lovelace/);
    assert.ok(ctx.token_estimate > 0);
    const fact = ctx.memories.find((m) => m.kind === "profile_fact");
    assert.ok(fact, JSON.stringify(ctx.memories));
    assert.match(fact.text, /my name is Ada Lovelace/i);
    assert.equal(fact.subject, subject);

    const found = await call(client, "statewave_search_memories", { subject, query: "lovelace", limit: 5 });
    assert.ok(found.length >= 1 && found.every((m) => /lovelace/i.test(m.text)), JSON.stringify(found));
    assert.deepEqual(Object.keys(found[0]), ["id", "subject", "kind", "text"]);

    const subs = await call(client, "statewave_list_subjects", { limit: 200 });
    assert.ok(Array.isArray(subs.subjects) && typeof subs.total === "number");
    await client.close();
  },

  // timeline filters: since/until on occurred_at, kinds, limit; text and occurred_at fields.
  async timeline(kind) {
    const client = await connect(kind);
    const subject = uid("tl");
    const put = (k, at, text) =>
      call(client, "statewave_ingest_episode", ingestArgs(subject, { kind: k, occurred_at: at, text }));
    await put("note", "2026-01-03T00:00:00Z", "third");
    await put("chat", "2026-01-01T00:00:00Z", "first");
    await put("note", "2026-01-02T00:00:00+01:00", "second");
    const texts = async (args) =>
      (await call(client, "statewave_get_timeline", { subject, ...args })).map((e) => e.text);
    assert.deepEqual(await texts({}), ["third", "first", "second"]); // no filter: as recorded
    assert.deepEqual(await texts({ since: "2026-01-01T00:00:01Z" }), ["second", "third"]);
    assert.deepEqual(await texts({ until: "2026-01-02T00:00:00Z" }), ["first", "second"]);
    assert.deepEqual(await texts({ kinds: ["note"] }), ["second", "third"]);
    assert.deepEqual(await texts({ kinds: ["note", "chat"], limit: 2 }), ["first", "second"]);
    const [e] = await call(client, "statewave_get_timeline", { subject, kinds: ["chat"] });
    assert.deepEqual(Object.keys(e), ["id", "subject", "kind", "text", "occurred_at"]);
    assert.equal(e.occurred_at, "2026-01-01T00:00:00Z");
    assert.equal(e.kind, "chat");
    assert.equal(e.subject, subject);
    await client.close();
  },

  // Bad arguments: -32000 with the reference's data; an unknown tool: -32602.
  async bad_argument(kind) {
    const client = await connect(kind);
    const bad = await callError(client, "statewave_get_timeline", { subject: "no/slashes" });
    assert.equal(bad.code, -32000);
    assert.deepEqual(Object.keys(bad.data).sort(), ["code", "hint", "message", "name", "retryable"]);
    assert.equal(bad.data.name, "ConnectorError");
    assert.equal(bad.data.code, "config_invalid");
    assert.equal(bad.data.retryable, false);
    assert.match(bad.data.message, /subject/);
    const missing = await callError(client, "statewave_ingest_episode", { subject: "a" });
    assert.equal(missing.code, -32000);
    assert.match(missing.data.message, /missing required string field: kind/);
    const extra = await callError(client, "statewave_list_subjects", { limit: 5, colour: "red" });
    assert.equal(extra.code, -32000);
    assert.match(extra.data.message, /unknown argument/);
    const range = await callError(client, "statewave_search_memories", { subject: "a", query: "q", limit: 51 });
    assert.equal(range.code, -32000);
    const when = await callError(client, "statewave_get_timeline", { subject: "a", since: "yesterday" });
    assert.equal(when.code, -32000);
    const unknown = await callError(client, "statewave_no_such_tool", {});
    assert.equal(unknown.code, -32602);
    assert.equal(unknown.data.code, "unsupported");
    await client.close();
  },

  // HTTP only: a wrong API key is refused before the MCP server sees the request.
  async auth(kind) {
    if (kind !== "http") return;
    let refused = false;
    try {
      await connect(kind, { "X-API-Key": "wrong-key" });
    } catch (e) {
      refused = /403|Forbidden|invalid_api_key/i.test(String(e));
      if (!refused) throw e;
    }
    assert.ok(refused, "a wrong key connected");
  },

  // Ingest one episode under subject $ENGRAM_MCP_SUBJECT (the Python side checks its tenant).
  async tenant(kind) {
    const client = await connect(kind);
    const out = await call(client, "statewave_ingest_episode",
      ingestArgs(process.env.ENGRAM_MCP_SUBJECT, { text: "tenant check" }));
    console.log(`id ${out.id}`);
    await client.close();
  },
};

const [kind, name] = process.argv.slice(2);
try {
  if (!checks[name] || !["stdio", "http"].includes(kind)) throw new Error(`usage: client.mjs stdio|http CHECK`);
  await checks[name](kind);
  console.log("ok");
  process.exit(0);
} catch (e) {
  console.log(`FAIL ${e && e.stack ? e.stack.split("\n").slice(0, 6).join(" | ") : e}`);
  process.exit(1);
}
