// extra.mjs - the EXTRA tier of the official Statewave TypeScript SDK (@statewavedev/sdk)
// against a running Engram: receipts through the SDK's own methods (getContext with
// emitReceipt, getReceipt, listReceipts, verifyReceipt, replayReceipt and its typed
// StatewaveUnreplayableError for a nested replay), and the memory templates and version,
// which the SDK has no methods for, through plain fetch as the documentation shows them.
//
//   ENGRAM_URL=http://127.0.0.1:8100 node tests/sdk/extra.mjs
//
// Prints one "ok <name>" or "FAIL <name>: <reason>" line per check, then "N passed, N failed";
// exits 1 when a check failed.
import {
  StatewaveAPIError,
  StatewaveClient,
  StatewaveUnreplayableError,
} from "@statewavedev/sdk";

const base = process.env.ENGRAM_URL ?? "http://127.0.0.1:8100";
const sw = new StatewaveClient({ baseUrl: base, retry: false });
const subjectId = `sdk-extra-${process.pid}-${Date.now()}`;
let passed = 0;
let failed = 0;

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}

async function http(method, path, body) {
  const resp = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: resp.status, body: await resp.json() };
}

let receiptId;
let replayId;

await check("setup: episodes and compile", async () => {
  await sw.createEpisode({
    subjectId, source: "chat", type: "message",
    payload: { text: "My name is Sam Park and I work at Umbrella Corp." },
  });
  const c = await sw.compileMemories(subjectId);
  expect(c.memoriesCreated > 0, `memoriesCreated ${c.memoriesCreated}`);
});

await check("getContext with emitReceipt returns receiptId and receiptEmitted", async () => {
  const b = await sw.getContext({
    subjectId, task: "Where does Sam work?", emitReceipt: true, queryId: "q-sdk",
    taskId: "t-sdk", callerId: "sdk-test", callerType: "agent",
  });
  expect(typeof b.receiptId === "string" && b.receiptId.length === 26, `receiptId ${b.receiptId}`);
  expect(b.receiptEmitted === true, `receiptEmitted ${b.receiptEmitted}`);
  expect(b.assembledContext.includes("Umbrella"), b.assembledContext);
  receiptId = b.receiptId;
});

await check("getContext without emitReceipt has no receipt", async () => {
  const b = await sw.getContext({ subjectId, task: "Where does Sam work?" });
  expect(b.receiptId === undefined && b.receiptEmitted === undefined, JSON.stringify(b));
});

await check("getReceipt", async () => {
  const r = await sw.getReceipt(receiptId);
  expect(r.receiptId === receiptId && r.mode === "retrieval", JSON.stringify(r));
  expect(r.subjectId === subjectId && r.queryId === "q-sdk" && r.taskId === "t-sdk",
         JSON.stringify(r));
  expect(r.selectedEntries.length > 0 && r.selectedEntries[0].rank === 1, JSON.stringify(r));
  expect(/^[0-9a-f]{64}$/.test(r.output.contextHash), JSON.stringify(r.output));
  expect(r.policySnapshot && typeof r.policySnapshot.bundleYaml === "string",
         JSON.stringify(r.policySnapshot));
});

await check("listReceipts with cursor paging", async () => {
  const more = await sw.getContext({ subjectId, task: "Name?", emitReceipt: true });
  const first = await sw.listReceipts({ subjectId, limit: 1 });
  expect(first.receipts.length === 1 && first.receipts[0].receiptId === more.receiptId,
         JSON.stringify(first));
  expect(first.nextCursor === more.receiptId, `nextCursor ${first.nextCursor}`);
  const second = await sw.listReceipts({ subjectId, limit: 1, cursor: first.nextCursor });
  expect(second.receipts.length === 1 && second.receipts[0].receiptId === receiptId,
         JSON.stringify(second));
  expect(second.nextCursor === null, `nextCursor ${second.nextCursor}`);
});

await check("verifyReceipt", async () => {
  const v = await sw.verifyReceipt(receiptId);
  expect(["ok", "no_signature"].includes(v.reason), JSON.stringify(v));
  expect(v.reason === "ok" ? v.valid === true : v.valid === null, JSON.stringify(v));
});

await check("replayReceipt", async () => {
  const r = await sw.replayReceipt(receiptId);
  expect(r.originalReceiptId === receiptId && typeof r.replayReceiptId === "string",
         JSON.stringify(r));
  expect(r.diff.contextHash.changed === false, JSON.stringify(r.diff));
  expect(Array.isArray(r.diff.selectedEntries.added) && r.diff.selectedEntries.common > 0,
         JSON.stringify(r.diff));
  replayId = r.replayReceiptId;
  const rep = await sw.getReceipt(replayId);
  expect(rep.mode === "as_of_replay" && rep.parentReceiptId === receiptId, JSON.stringify(rep));
});

await check("replayReceipt of a replay: StatewaveUnreplayableError nested_replay (422)",
  async () => {
    try {
      await sw.replayReceipt(replayId);
    } catch (e) {
      expect(e instanceof StatewaveUnreplayableError, `not typed: ${e}`);
      expect(e.reason === "nested_replay" && e.statusCode === 422, `${e.reason} ${e.statusCode}`);
      return;
    }
    throw new Error("no error");
  });

await check("getReceipt of an unknown id: StatewaveAPIError 404", async () => {
  try {
    await sw.getReceipt("01J0000000000000000000000X");
  } catch (e) {
    expect(e instanceof StatewaveAPIError && e.statusCode === 404, `${e}`);
    return;
  }
  throw new Error("no error");
});

await check("version and memory templates (plain HTTP: the SDK has no methods for them)",
  async () => {
    const v = await http("GET", "/v1/version");
    expect(v.status === 200 && v.body.api_contract === "v1", JSON.stringify(v));
    const list = await http("GET", "/v1/memory-templates");
    expect(list.status === 200 && list.body.templates.length >= 5, JSON.stringify(list));
    const one = await http("GET", "/v1/memory-templates/meeting_note");
    expect(one.status === 200 && one.body.id === "meeting_note", JSON.stringify(one));
    const made = await http("POST", "/v1/memory-templates/meeting_note/apply",
                            { subject_id: subjectId, values: { topic: "the Q3 plan" } });
    expect(made.status === 201 && made.body.payload.template_id === "meeting_note",
           JSON.stringify(made));
    const bad = await http("POST", "/v1/memory-templates/meeting_note/apply",
                           { subject_id: subjectId, values: { topic: 3 } });
    expect(bad.status === 422, JSON.stringify(bad));
  });

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
