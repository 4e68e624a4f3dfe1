// search.js - the search playground: the same query through every mode of
// GET /v1/memories/search (text, bm25, semantic, hybrid) side by side. A mode the server does not
// offer shows the server's own error in its column.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { html, Field, ErrorBox, Badge } from "../util.js";

const MODES = ["text", "bm25", "semantic", "hybrid"];

export function SearchPage() {
    const u = new URLSearchParams(location.search);
    const [f, setF] = useState({ subject_id: u.get("subject_id") || "", q: u.get("q") || "", kind: "", limit: "10" });
    const [results, setResults] = useState(null);
    const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.value });
    const submit = async (e) => {
        e.preventDefault();
        const base = { subject_id: f.subject_id.trim(), q: f.q, kind: f.kind.trim(), limit: f.limit };
        setResults(Object.fromEntries(MODES.map((m) => [m, { busy: true }])));
        const out = {};
        await Promise.all(MODES.map((mode) => api("GET", "/v1/memories/search", { query: { ...base, mode } }).then(
            (data) => (out[mode] = { data }),
            (error) => (out[mode] = { error }),
        )));
        setResults(out);
    };
    return html`<section>
        <h1>Search playground</h1>
        <form class="row" role="search" onSubmit=${submit}>
            <${Field} label="Subject"><input required name="subject_id" value=${f.subject_id} onInput=${set("subject_id")} /></${Field}>
            <${Field} label="Query"><input type="search" name="q" value=${f.q} onInput=${set("q")} /></${Field}>
            <${Field} label="Kind"><input name="kind" value=${f.kind} placeholder="any" onInput=${set("kind")} /></${Field}>
            <${Field} label="Limit"><input type="number" min="1" max="100" name="limit" value=${f.limit} onInput=${set("limit")} /></${Field}>
            <button type="submit">Search</button>
        </form>
        ${results ? html`<div class="columns">${MODES.map((m) => {
            const r = results[m] || {};
            return html`<section class="column" aria-label=${m + " results"} data-mode=${m}>
                <h2>${m}</h2>
                ${r.busy ? html`<p class="muted">searching…</p>` : null}
                ${r.error ? html`<${ErrorBox} error=${r.error} />` : null}
                ${r.data ? (r.data.memories.length ? html`<ol class="hits">${r.data.memories.map((x) => html`<li>
                    <${Badge} value=${x.kind} /> ${x.content}</li>`)}</ol>` : html`<p class="muted">No memory found.</p>`) : null}
            </section>`;
        })}</div>` : null}
    </section>`;
}
