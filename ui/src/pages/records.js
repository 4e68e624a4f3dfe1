// records.js - how a memory and an episode are shown wherever they appear: kind, status,
// confidence, validity, labels, provenance (memory → source episodes, episode → citing
// memories) and supersession (memory → what superseded it).
import { useEffect, useState } from "preact/hooks";
import { api, seg } from "../api.js";
import { html, Badge, ErrorBox, fmtTime } from "../util.js";

// The payload's text as the spec defines it (api.md §2 "Payload text").
export function payloadText(p) {
    if (!p || typeof p !== "object") return "";
    if (Array.isArray(p.messages)) {
        return p.messages
            .filter((m) => m && typeof m === "object")
            .map((m) => `${m.role ?? ""}: ${typeof m.content === "string" ? m.content : JSON.stringify(m.content)}`)
            .join("\n");
    }
    if (typeof p.text === "string") return p.text;
    if (typeof p.content === "string") return p.content;
    return "";
}

export const anchor = (kind, id) => `${kind}-${id}`;

// Scroll to a record of the page and mark it, as a provenance link's target.
export function jumpTo(kind, id) {
    const el = document.getElementById(anchor(kind, id));
    if (!el) return false;
    document.querySelectorAll(".target").forEach((t) => t.classList.remove("target"));
    el.classList.add("target");
    el.scrollIntoView({ block: "center" });
    el.focus({ preventScroll: true });
    return true;
}

function Rel({ r }) {
    return html`<li><a href=${"#" + anchor("mem", r.id)} onClick=${(e) => jumpTo("mem", r.id) && e.preventDefault()}>
        <${Badge} value=${r.kind} /> ${r.content}</a> <small class="muted">${fmtTime(r.created_at)} · ${r.status}</small></li>`;
}

function Related({ subjectId, m, tenant }) {
    const [state, setState] = useState(null);
    const load = () => {
        setState({ loading: true });
        api("GET", `/admin/subjects/${seg(subjectId)}/memories/${seg(m.id)}/related`, { tenant: "query", query: tenant ? { tenant_id: tenant } : {} }).then(
            (data) => setState({ data }),
            (error) => setState({ error }),
        );
    };
    // What superseded it is the question a superseded memory raises: answer it at once.
    useEffect(() => {
        if (m.status === "superseded") load();
    }, [m.id]);
    if (!state) {
        return html`<button type="button" class="link" onClick=${load}>related memories</button>`;
    }
    if (state.loading) return html`<span class="muted">loading related…</span>`;
    if (state.error) return html`<${ErrorBox} error=${state.error} />`;
    const d = state.data;
    return html`<div class="related">
        ${d.superseding_memory ? html`<p class="superseded-by">Superseded by:</p><ul><${Rel} r=${d.superseding_memory} /></ul>` : null}
        ${d.superseded_memories && d.superseded_memories.length ? html`<p>Replaced earlier memories:</p><ul>${d.superseded_memories.map((r) => html`<${Rel} r=${r} />`)}</ul>` : null}
        ${d.sibling_memories && d.sibling_memories.length ? html`<p>From the same episodes:</p><ul>${d.sibling_memories.map((r) => html`<${Rel} r=${r} />`)}</ul>` : null}
        ${!d.superseding_memory && !(d.superseded_memories || []).length && !(d.sibling_memories || []).length ? html`<p class="muted">No related memory.</p>` : null}
    </div>`;
}

export function MemoryCard({ m, subjectId, tenant, episodeIds }) {
    const sources = m.source_episode_ids || [];
    return html`<article class=${`rec mem s-${m.status}`} id=${anchor("mem", m.id)} tabindex="-1" aria-label=${`Memory ${m.kind}`}>
        <header>
            <span class="what">memory</span> <${Badge} value=${m.kind} /> <${Badge} value=${m.status} kind="status" />
            <span class="conf" title="confidence">${typeof m.confidence === "number" ? m.confidence.toFixed(2) : "—"}</span>
            <time datetime=${m.created_at}>${fmtTime(m.created_at)}</time>
        </header>
        <p class="content">${m.content}</p>
        ${m.summary && m.summary !== m.content ? html`<p class="summary muted">${m.summary}</p>` : null}
        <dl class="meta">
            <dt>valid</dt><dd>${fmtTime(m.valid_from)} → ${m.valid_to ? fmtTime(m.valid_to) : "now"}</dd>
            ${m.sensitivity_labels && m.sensitivity_labels.length ? html`<dt>labels</dt><dd>${m.sensitivity_labels.map((l) => html`<${Badge} value=${l} kind="label" /> `)}</dd>` : null}
            <dt>sources</dt><dd class="sources">${sources.length ? sources.map((id) => html`<a class="src" href=${"#" + anchor("ep", id)}
                onClick=${(e) => { if (!episodeIds || episodeIds.has(id)) { if (jumpTo("ep", id)) e.preventDefault(); } }}
                title=${`episode ${id}`}>${id.slice(0, 8)}</a> `) : html`<span class="muted">none</span>`}</dd>
            <dt>id</dt><dd><code>${m.id}</code></dd>
        </dl>
        ${subjectId ? html`<${Related} subjectId=${subjectId} m=${m} tenant=${tenant} />` : null}
    </article>`;
}

function Citing({ subjectId, e, tenant }) {
    const [state, setState] = useState(null);
    const load = () => {
        setState({ loading: true });
        api("GET", `/admin/subjects/${seg(subjectId)}/episodes/${seg(e.id)}/citing-memories`, { tenant: "query", query: tenant ? { tenant_id: tenant, limit: 50 } : { limit: 50 } }).then(
            (data) => setState({ data }),
            (error) => setState({ error }),
        );
    };
    if (!state) return html`<button type="button" class="link" onClick=${load}>memories citing it</button>`;
    if (state.loading) return html`<span class="muted">loading…</span>`;
    if (state.error) return html`<${ErrorBox} error=${state.error} />`;
    const ms = state.data.memories || [];
    return html`<div class="related citing">${ms.length ? html`<p>Cited by ${state.data.total} memor${state.data.total === 1 ? "y" : "ies"}:</p><ul>${ms.map((r) => html`<${Rel} r=${r} />`)}</ul>` : html`<p class="muted">No memory cites this episode.</p>`}</div>`;
}

export function EpisodeCard({ e, subjectId, tenant, citedBy }) {
    const [open, setOpen] = useState(false);
    const text = payloadText(e.payload);
    return html`<article class="rec ep" id=${anchor("ep", e.id)} tabindex="-1" aria-label=${`Episode ${e.source}/${e.type}`}>
        <header>
            <span class="what">episode</span> <${Badge} value=${e.source} /> <${Badge} value=${e.type} />
            ${e.session_id ? html`<span class="session" title="session">${e.session_id}</span>` : null}
            <time datetime=${e.created_at}>${fmtTime(e.created_at)}</time>
        </header>
        <p class="content pre">${text || html`<span class="muted">(no text content)</span>`}</p>
        <dl class="meta">
            ${citedBy && citedBy.length ? html`<dt>cited by</dt><dd>${citedBy.map((id) => html`<a class="cite" href=${"#" + anchor("mem", id)} onClick=${(ev) => jumpTo("mem", id) && ev.preventDefault()}>${id.slice(0, 8)}</a> `)}</dd>` : null}
            <dt>id</dt><dd><code>${e.id}</code></dd>
        </dl>
        <button type="button" class="link" aria-expanded=${open} onClick=${() => setOpen(!open)}>${open ? "hide" : "show"} payload</button>
        ${subjectId ? html` · <${Citing} subjectId=${subjectId} e=${e} tenant=${tenant} />` : null}
        ${open ? html`<pre class="json">${JSON.stringify({ payload: e.payload, metadata: e.metadata, provenance: e.provenance }, null, 2)}</pre>` : null}
    </article>`;
}
