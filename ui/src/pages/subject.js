// subject.js - one subject: its summary (counts, health, SLA), the timeline of episodes and
// memories interleaved, the memory and episode lists of the explorer, and the actions an
// operator takes on a subject (context, snapshot, delete).
import { useState } from "preact/hooks";
import { api, seg, settings } from "../api.js";
import { html, Link, Loading, Pager, Badge, Field, ErrorBox, fmtTime, fmtNum, useLoad } from "../util.js";
import { MemoryCard, EpisodeCard } from "./records.js";

const PAGE = 50;

function Summary({ d }) {
    const s = d.summary || {};
    const cards = [
        ["Episodes", fmtNum(s.episode_count)],
        ["Memories", fmtNum(s.memory_count)],
        ["Sessions", fmtNum(s.session_count)],
        ["First seen", fmtTime(s.first_seen_at)],
        ["Last activity", fmtTime(s.last_activity_at)],
    ];
    return html`<div class="cards">
        ${cards.map(([k, v]) => html`<div class="card"><span class="k">${k}</span><span class="v">${v}</span></div>`)}
        ${d.health ? html`<div class="card"><span class="k">Health</span><span class="v"><${Badge} value=${d.health.state} /> ${d.health.score}</span></div>` : null}
        ${d.sla ? html`<div class="card"><span class="k">Sessions open / resolved</span><span class="v">${d.sla.open_sessions} / ${d.sla.resolved_sessions}</span></div>` : null}
    </div>
    ${d.health && d.health.factors && d.health.factors.length ? html`<details class="factors"><summary>Health factors</summary><ul>
        ${d.health.factors.map((f) => html`<li><code>${f.signal}</code> ${f.impact > 0 ? "+" : ""}${f.impact}: ${f.detail}</li>`)}</ul></details>` : null}`;
}

// Episodes and memories of the subject's timeline (GET /v1/timeline), newest first, interleaved.
function Timeline({ id, tenant }) {
    const [state] = useLoad(() => api("GET", "/v1/timeline", { query: { subject_id: id } }), [id]);
    return html`<${Loading} state=${state}>${() => {
        const d = state.data;
        const items = [
            ...d.episodes.map((e) => ({ t: e.created_at, k: "ep", e })),
            ...d.memories.map((m) => ({ t: m.created_at, k: "mem", m })),
        ].sort((a, b) => (a.t < b.t ? 1 : a.t > b.t ? -1 : a.k === b.k ? 0 : a.k === "mem" ? -1 : 1));
        const epIds = new Set(d.episodes.map((e) => e.id));
        const cited = new Map();
        for (const m of d.memories) for (const eid of m.source_episode_ids || []) {
            if (!cited.has(eid)) cited.set(eid, []);
            cited.get(eid).push(m.id);
        }
        if (!items.length) return html`<p class="muted">Nothing recorded for this subject${tenant ? " in this tenant" : ""}.</p>`;
        return html`<p class="muted">The subject's first ${d.episodes.length} episodes and ${d.memories.length} memories (any status), newest first.</p>
            <ol class="timeline">${items.map((it) => html`<li key=${it.k + (it.e || it.m).id}>${it.k === "ep"
                ? html`<${EpisodeCard} e=${it.e} subjectId=${id} tenant=${tenant} citedBy=${cited.get(it.e.id)} />`
                : html`<${MemoryCard} m=${it.m} subjectId=${id} tenant=${tenant} episodeIds=${epIds} />`}</li>`)}</ol>`;
    }}</${Loading}>`;
}

function Memories({ id, tenant }) {
    const [f, setF] = useState({ status: "all", kind: "", search: "", offset: 0 });
    const [draft, setDraft] = useState({ kind: "", search: "" });
    const [state] = useLoad(
        () => api("GET", `/admin/subjects/${seg(id)}/memories`, { tenant: "query", query: { ...f, limit: PAGE } }),
        [id, f.status, f.kind, f.search, f.offset],
    );
    return html`<form class="row" onSubmit=${(e) => { e.preventDefault(); setF({ ...f, ...draft, offset: 0 }); }}>
            <${Field} label="Status"><select value=${f.status} onChange=${(e) => setF({ ...f, status: e.currentTarget.value, offset: 0 })}>
                <option value="all">all</option><option value="active">active</option><option value="superseded">superseded</option></select></${Field}>
            <${Field} label="Kind"><input value=${draft.kind} placeholder="any" onInput=${(e) => setDraft({ ...draft, kind: e.currentTarget.value.trim() })} /></${Field}>
            <${Field} label="Text"><input type="search" value=${draft.search} placeholder="content, summary or kind" onInput=${(e) => setDraft({ ...draft, search: e.currentTarget.value })} /></${Field}>
            <button type="submit">Filter</button>
        </form>
        <${Loading} state=${state}>${() => html`
            ${state.data.memories.length ? state.data.memories.map((m) => html`<${MemoryCard} key=${m.id} m=${m} subjectId=${id} tenant=${tenant} />`) : html`<p class="muted">No memory matches.</p>`}
            <${Pager} offset=${f.offset} limit=${PAGE} count=${state.data.memories.length} total=${state.data.total} onPage=${(o) => setF({ ...f, offset: o })} />`}
        </${Loading}>`;
}

function Episodes({ id, tenant }) {
    const [f, setF] = useState({ session_id: "", type: "", search: "", offset: 0 });
    const [draft, setDraft] = useState({ session_id: "", type: "", search: "" });
    const [state] = useLoad(
        () => api("GET", `/admin/subjects/${seg(id)}/episodes`, { tenant: "query", query: { ...f, limit: PAGE } }),
        [id, f.session_id, f.type, f.search, f.offset],
    );
    return html`<form class="row" onSubmit=${(e) => { e.preventDefault(); setF({ ...f, ...draft, offset: 0 }); }}>
            <${Field} label="Session"><input value=${draft.session_id} placeholder="any" onInput=${(e) => setDraft({ ...draft, session_id: e.currentTarget.value.trim() })} /></${Field}>
            <${Field} label="Type"><input value=${draft.type} placeholder="any" onInput=${(e) => setDraft({ ...draft, type: e.currentTarget.value.trim() })} /></${Field}>
            <${Field} label="Text"><input type="search" value=${draft.search} placeholder="payload, type, source or session" onInput=${(e) => setDraft({ ...draft, search: e.currentTarget.value })} /></${Field}>
            <button type="submit">Filter</button>
        </form>
        <${Loading} state=${state}>${() => html`
            ${state.data.episodes.length ? state.data.episodes.map((e) => html`<${EpisodeCard} key=${e.id} e=${e} subjectId=${id} tenant=${tenant} />`) : html`<p class="muted">No episode matches.</p>`}
            <${Pager} offset=${f.offset} limit=${PAGE} count=${state.data.episodes.length} total=${state.data.total} onPage=${(o) => setF({ ...f, offset: o })} />`}
        </${Loading}>`;
}

function SnapshotForm({ id }) {
    const [name, setName] = useState("");
    const [state, setState] = useState(null);
    const submit = (e) => {
        e.preventDefault();
        setState({ busy: true });
        api("POST", "/admin/snapshots", { tenant: "none", body: { name: name.trim(), source_subject_id: id } }).then(
            (data) => setState({ data }),
            (error) => setState({ error }),
        );
    };
    return html`<form class="row" onSubmit=${submit} aria-label="Take a snapshot">
        <${Field} label="Snapshot name"><input required value=${name} onInput=${(e) => setName(e.currentTarget.value)} /></${Field}>
        <button type="submit" disabled=${state && state.busy}>Take snapshot</button>
        ${state && state.data ? html`<span class="ok" role="status">Snapshot ${state.data.name} v${state.data.version} ${state.data.status}
            (<${Link} href="/ui/operations#snapshots">snapshots</${Link}>)</span>` : null}
        ${state && state.error ? html`<${ErrorBox} error=${state.error} />` : null}
    </form>`;
}

function DeleteForm({ id, tenant, summary }) {
    const [confirming, setConfirming] = useState(false);
    const [state, setState] = useState(null);
    const del = () => {
        setState({ busy: true });
        api("DELETE", `/admin/subjects/${seg(id)}`, { tenant: "query" }).then(
            (data) => setState({ data }),
            (error) => setState({ error }),
        );
    };
    if (state && state.data) {
        return html`<p class="ok" role="status">Deleted ${fmtNum(state.data.episodes_deleted)} episodes and
            ${fmtNum(state.data.memories_deleted)} memories of ${state.data.subject_id}.
            <${Link} href="/ui/subjects">Back to subjects</${Link}></p>`;
    }
    return html`<div class="danger">
        ${confirming
            ? html`<p>Delete <strong>${id}</strong>${tenant ? html` in tenant <strong>${tenant}</strong>` : null}: ${fmtNum(summary.episode_count)} episodes
                and ${fmtNum(summary.memory_count)} memories, with its resolutions and jobs. This cannot be undone.</p>
                <button type="button" class="danger" onClick=${del} disabled=${state && state.busy}>Delete for good</button>
                <button type="button" onClick=${() => setConfirming(false)}>Cancel</button>`
            : html`<button type="button" class="danger" onClick=${() => setConfirming(true)}>Delete subject…</button>`}
        ${state && state.error ? html`<${ErrorBox} error=${state.error} />` : null}
    </div>`;
}

const TABS = [
    ["timeline", "Timeline"],
    ["memories", "Memories"],
    ["episodes", "Episodes"],
    ["actions", "Actions"],
];

export function SubjectPage({ id }) {
    const tenant = settings().tenant;
    const [tab, setTab] = useState(location.hash === "#memories" || location.hash === "#episodes" || location.hash === "#actions" ? location.hash.slice(1) : "timeline");
    const [state] = useLoad(() => api("GET", `/admin/subjects/${seg(id)}`, { tenant: "query" }), [id]);
    const choose = (t) => {
        setTab(t);
        history.replaceState(null, "", location.pathname + location.search + (t === "timeline" ? "" : "#" + t));
    };
    return html`<section>
        <p class="crumbs"><${Link} href="/ui/subjects">Subjects</${Link}> /</p>
        <h1 class="subject-id">${id}</h1>
        <${Loading} state=${state}>${() => html`<${Summary} d=${state.data} />`}</${Loading}>
        <p class="row">
            <${Link} class="button" href=${"/ui/context?subject_id=" + encodeURIComponent(id)}>Context playground</${Link}>
            <${Link} class="button" href=${"/ui/search?subject_id=" + encodeURIComponent(id)}>Search playground</${Link}>
        </p>
        <div role="tablist" class="tabs" aria-label="Subject views">
            ${TABS.map(([t, label]) => html`<button type="button" role="tab" id=${"tab-" + t} aria-selected=${tab === t}
                aria-controls=${"panel-" + t} tabindex=${tab === t ? 0 : -1} onClick=${() => choose(t)}
                onKeyDown=${(e) => {
                    const i = TABS.findIndex(([x]) => x === tab);
                    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
                        const n = TABS[(i + (e.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length][0];
                        choose(n);
                        document.getElementById("tab-" + n).focus();
                    }
                }}>${label}</button>`)}
        </div>
        <div role="tabpanel" id=${"panel-" + tab} aria-labelledby=${"tab-" + tab}>
            ${tab === "timeline" ? html`<${Timeline} id=${id} tenant=${tenant} />` : null}
            ${tab === "memories" ? html`<${Memories} id=${id} tenant=${tenant} />` : null}
            ${tab === "episodes" ? html`<${Episodes} id=${id} tenant=${tenant} />` : null}
            ${tab === "actions" ? html`<h2>Snapshot</h2><p class="muted">Copy this subject as a named, versioned snapshot (needs <code>STATEWAVE_ENABLE_SNAPSHOTS=true</code>).</p>
                <${SnapshotForm} id=${id} />
                <h2>Delete</h2>
                ${state.data ? html`<${DeleteForm} id=${id} tenant=${tenant} summary=${state.data.summary} />` : html`<p class="muted">Load the subject first.</p>`}` : null}
        </div>
    </section>`;
}

