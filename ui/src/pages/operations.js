// operations.js - what an operator watches and does: the dashboard and usage figures (with small
// charts), snapshots (list, take, restore into a new subject), compile jobs and webhook events
// (filters, dead letters), and bulk subject deletion with the preview → confirm flow.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api } from "../api.js";
import { html, Field, ErrorBox, Loading, Pager, Badge, Link, fmtTime, fmtNum, subjectHref, useLoad } from "../util.js";

const WINDOWS = ["today", "7d", "30d"];

// One small bar chart: a table's rows created today, in 7 days and in 30 days.
function UsageChart({ title, w }) {
    const ref = useRef(null);
    useEffect(() => {
        const plot = new uPlot({
            width: 220, height: 160, title,
            legend: { show: false },
            cursor: { show: false },
            scales: { x: { time: false, range: [-0.5, WINDOWS.length - 0.5] }, y: { range: (_, lo, hi) => [0, Math.max(1, hi)] } },
            axes: [{ stroke: "currentColor", splits: () => WINDOWS.map((_, i) => i), values: (_, ticks) => ticks.map((t) => WINDOWS[t] ?? "") },
                   { stroke: "currentColor", size: 40 }],
            series: [{}, { label: title, fill: "#4c78a8", stroke: "#4c78a8", width: 0, points: { show: false },
                paths: uPlot.paths.bars({ size: [0.6, 60] }) }],
        }, [WINDOWS.map((_, i) => i), WINDOWS.map((k) => w[k] || 0)], ref.current);
        return () => plot.destroy();
    }, [w]);
    return html`<figure class="chart" ref=${ref} aria-label=${`${title}: ${WINDOWS.map((k) => `${w[k]} ${k}`).join(", ")}, ${w.total} in all`}></figure>`;
}

function UsageCharts({ usage }) {
    return html`<div class="charts">${["episodes", "memories", "compile_jobs", "webhooks"].filter((t) => usage[t]).map((t) =>
        html`<${UsageChart} key=${t} title=${t.replace("_", " ")} w=${usage[t]} />`)}</div>`;
}

function Dashboard() {
    const [dash] = useLoad(() => api("GET", "/admin/dashboard", { tenant: "none" }), []);
    const [usage] = useLoad(() => api("GET", "/admin/usage", { tenant: "query" }), []);
    return html`<section aria-labelledby="h-dash"><h2 id="h-dash">Dashboard</h2>
        <${Loading} state=${dash}>${() => {
            const d = dash.data;
            const hd = d.health_distribution;
            return html`<div class="cards">
                <div class="card"><span class="k">Readiness</span><span class="v"><${Badge} value=${d.readiness.status} /></span></div>
                <div class="card"><span class="k">Schema</span><span class="v">${d.migration.current_revision}${d.migration.is_compatible ? "" : " (incompatible)"}</span></div>
                <div class="card"><span class="k">Subjects</span><span class="v">${fmtNum(d.counts.subjects)}</span></div>
                <div class="card"><span class="k">Episodes</span><span class="v">${fmtNum(d.counts.episodes)}</span></div>
                <div class="card"><span class="k">Memories</span><span class="v">${fmtNum(d.counts.memories)}</span></div>
                <div class="card"><span class="k">Jobs</span><span class="v">${Object.entries(d.jobs || {}).map(([k, v]) => `${k} ${v}`).join(" · ") || "none"}</span></div>
                <div class="card"><span class="k">Webhooks pending / dead</span><span class="v">${d.webhooks.pending} / ${d.webhooks.dead_letter}</span></div>
                ${hd ? html`<div class="card"><span class="k">Health</span><span class="v">${Object.entries(hd).map(([k, v]) => html`<${Badge} value=${k} /> ${v} `)}</span></div>` : null}
            </div>
            <details><summary>Readiness checks</summary><ul>${d.readiness.checks.map((c) => html`<li><${Badge} value=${c.status} /> ${c.name}: ${c.detail} (${c.latency_ms} ms)</li>`)}</ul></details>`;
        }}</${Loading}>
        <${Loading} state=${usage}>${() => html`<${UsageCharts} usage=${usage.data} />
            <p class="muted">Active subjects: ${usage.data.active_subjects["7d"]} in 7 days, ${usage.data.active_subjects["30d"]} in 30 days, ${usage.data.active_subjects.total} in all${usage.data.tenant_id ? ` (tenant ${usage.data.tenant_id})` : ""}.</p>`}</${Loading}>
    </section>`;
}

function Restore({ snap, onDone }) {
    const [target, setTarget] = useState("");
    const [state, setState] = useState(null);
    const submit = (e) => {
        e.preventDefault();
        setState({ busy: true });
        api("POST", `/admin/snapshots/${encodeURIComponent(snap.id)}/restore`, { tenant: "none", body: { target_subject_id: target.trim() } }).then(
            (data) => { setState({ data }); onDone && onDone(); },
            (error) => setState({ error }),
        );
    };
    return html`<form class="inline" onSubmit=${submit} aria-label=${`Restore ${snap.name} v${snap.version}`}>
        <input required name="target_subject_id" placeholder="new subject id" value=${target} onInput=${(e) => setTarget(e.currentTarget.value)} aria-label="Target subject id" />
        <button type="submit" disabled=${state && state.busy}>Restore</button>
        ${state && state.data ? html`<span class="ok" role="status">Restored ${state.data.episodes_restored} episodes and ${state.data.memories_restored} memories into
            <${Link} href=${subjectHref(state.data.subject_id)}>${state.data.subject_id}</${Link}></span>` : null}
        ${state && state.error ? html`<${ErrorBox} error=${state.error} />` : null}
    </form>`;
}

function Snapshots() {
    const [state, reload] = useLoad(() => api("GET", "/admin/snapshots", { tenant: "none" }), []);
    const [form, setForm] = useState({ name: "", source_subject_id: "", version: "1" });
    const [made, setMade] = useState(null);
    const create = (e) => {
        e.preventDefault();
        setMade({ busy: true });
        api("POST", "/admin/snapshots", { tenant: "none", body: { name: form.name.trim(), source_subject_id: form.source_subject_id.trim(), version: parseInt(form.version, 10) } }).then(
            (data) => { setMade({ data }); reload(); },
            (error) => setMade({ error }),
        );
    };
    return html`<section aria-labelledby="snapshots"><h2 id="snapshots">Snapshots</h2>
        <form class="row" onSubmit=${create} aria-label="Take a snapshot">
            <${Field} label="Name"><input required name="name" value=${form.name} onInput=${(e) => setForm({ ...form, name: e.currentTarget.value })} /></${Field}>
            <${Field} label="Source subject"><input required name="source_subject_id" value=${form.source_subject_id} onInput=${(e) => setForm({ ...form, source_subject_id: e.currentTarget.value })} /></${Field}>
            <${Field} label="Version"><input type="number" min="1" name="version" value=${form.version} onInput=${(e) => setForm({ ...form, version: e.currentTarget.value })} /></${Field}>
            <button type="submit">Take snapshot</button>
            ${made && made.data ? html`<span class="ok" role="status">${made.data.name} v${made.data.version}: ${made.data.status}</span>` : null}
        </form>
        ${made && made.error ? html`<${ErrorBox} error=${made.error} />` : null}
        ${state.error && state.error.status === 404 ? html`<p class="muted" role="note">Snapshots are turned off on this server
            (<code>STATEWAVE_ENABLE_SNAPSHOTS=true</code> turns them on).</p>` : html`<${Loading} state=${state}>${() => state.data.snapshots.length
            ? html`<div class="scroll"><table class="list snapshots"><thead><tr><th scope="col">Name</th><th scope="col" class="n">Version</th>
                <th scope="col" class="n">Episodes</th><th scope="col" class="n">Memories</th><th scope="col">Taken</th><th scope="col">Restore into a new subject</th></tr></thead>
                <tbody>${state.data.snapshots.map((s) => html`<tr key=${s.id}><td>${s.name}</td><td class="n">${s.version}</td>
                    <td class="n">${fmtNum(s.episode_count)}</td><td class="n">${fmtNum(s.memory_count)}</td><td>${fmtTime(s.created_at)}</td>
                    <td><${Restore} snap=${s} /></td></tr>`)}</tbody></table></div>`
            : html`<p class="muted">No snapshot yet.</p>`}</${Loading}>`}
    </section>`;
}

function EventList({ title, id, path, field, statuses, columns, stats }) {
    const [f, setF] = useState({ status: "", offset: 0 });
    const [state] = useLoad(() => api("GET", path, { tenant: "query", query: { status: f.status, limit: 20, offset: f.offset } }), [f.status, f.offset]);
    const [st] = useLoad(() => (stats ? api("GET", stats, { tenant: "none" }) : Promise.resolve(null)), []);
    return html`<section aria-labelledby=${id}><h2 id=${id}>${title}</h2>
        ${st.data ? html`<p class="muted">${Object.entries(st.data).map(([k, v]) => `${k.replace("_", " ")} ${v}`).join(" · ")}</p>` : null}
        <div class="row"><${Field} label="Status"><select value=${f.status} onChange=${(e) => setF({ status: e.currentTarget.value, offset: 0 })}>
            <option value="">any</option>${statuses.map((s) => html`<option value=${s}>${s.replace("_", " ")}</option>`)}</select></${Field}></div>
        <${Loading} state=${state}>${() => {
            const rows = state.data[field];
            return rows.length ? html`<div class="scroll"><table class="list"><thead><tr>${columns.map(([h]) => html`<th scope="col">${h}</th>`)}</tr></thead>
                <tbody>${rows.map((r) => html`<tr>${columns.map(([, f]) => html`<td>${f(r)}</td>`)}</tr>`)}</tbody></table></div>
                <${Pager} offset=${f.offset} limit=${20} count=${rows.length} total=${state.data.total} onPage=${(o) => setF({ ...f, offset: o })} />`
                : html`<p class="muted">None.</p>`;
        }}</${Loading}>
    </section>`;
}

function Jobs() {
    return html`<${EventList} title="Compile jobs" id="jobs" path="/admin/jobs" field="jobs" statuses=${["pending", "running", "completed", "failed"]}
        columns=${[["Job", (j) => html`<code>${j.job_id.slice(0, 8)}</code>`], ["Subject", (j) => html`<${Link} href=${subjectHref(j.subject_id)}>${j.subject_id}</${Link}>`],
            ["Status", (j) => html`<${Badge} value=${j.status} />`], ["Memories", (j) => j.memories_created], ["Created", (j) => fmtTime(j.created_at)],
            ["Error", (j) => j.error || ""]]} />`;
}

function Webhooks() {
    return html`<${EventList} title="Webhook events" id="webhooks" path="/admin/webhooks" field="events" stats="/admin/webhooks/stats"
        statuses=${["pending", "delivered", "dead_letter"]}
        columns=${[["Event", (e) => e.event], ["Status", (e) => html`<${Badge} value=${e.status} />`], ["Attempts", (e) => `${e.attempts}/${e.max_attempts}`],
            ["HTTP", (e) => e.http_status ?? ""], ["Last error", (e) => e.last_error || ""], ["Created", (e) => fmtTime(e.created_at)]]} />`;
}

function BulkDelete() {
    const [sel, setSel] = useState({ subject_id_prefix: "", older_than_days: "", tenant_id: "" });
    const [preview, setPreview] = useState(null);
    const [done, setDone] = useState(null);
    const selector = () => {
        const s = {};
        if (sel.subject_id_prefix) s.subject_id_prefix = sel.subject_id_prefix;
        if (sel.older_than_days !== "") s.older_than_days = parseInt(sel.older_than_days, 10);
        if (sel.tenant_id) s.tenant_id = sel.tenant_id;
        return s;
    };
    const doPreview = (e) => {
        e.preventDefault();
        setDone(null);
        setPreview({ busy: true });
        api("POST", "/admin/subjects/preview-delete", { tenant: "none", body: selector() }).then((data) => setPreview({ data, sel: selector() }), (error) => setPreview({ error }));
    };
    const commit = () => {
        setDone({ busy: true });
        api("POST", "/admin/subjects/bulk-delete", { tenant: "none", body: { ...preview.sel, confirm: true, expected_count: preview.data.matched } }).then(
            (data) => { setDone({ data }); setPreview(null); },
            (error) => setDone({ error }),
        );
    };
    const set = (k) => (e) => { setSel({ ...sel, [k]: e.currentTarget.value.trim() }); setPreview(null); };
    return html`<section aria-labelledby="bulk-delete"><h2 id="bulk-delete">Delete subjects</h2>
        <p class="muted">Preview what a selector matches, then delete exactly that many; if the count changed meanwhile the server refuses (409).</p>
        <form class="row" onSubmit=${doPreview}>
            <${Field} label="Subject id prefix"><input name="subject_id_prefix" value=${sel.subject_id_prefix} onInput=${set("subject_id_prefix")} /></${Field}>
            <${Field} label="Inactive for days"><input type="number" min="0" name="older_than_days" value=${sel.older_than_days} onInput=${set("older_than_days")} /></${Field}>
            <${Field} label="Tenant"><input name="tenant_id" value=${sel.tenant_id} onInput=${set("tenant_id")} /></${Field}>
            <button type="submit">Preview</button>
        </form>
        ${preview && preview.error ? html`<${ErrorBox} error=${preview.error} />` : null}
        ${preview && preview.data ? html`<div class="danger">
            <p>${fmtNum(preview.data.matched)} subject${preview.data.matched === 1 ? "" : "s"} match, with ${fmtNum(preview.data.total_episodes)} episodes and ${fmtNum(preview.data.total_memories)} memories.</p>
            ${preview.data.sample.length ? html`<ul>${preview.data.sample.map((s) => html`<li>${s.subject_id}${s.tenant_id ? ` (${s.tenant_id})` : ""}: ${s.episode_count} episodes, ${s.memory_count} memories</li>`)}</ul>` : null}
            ${preview.data.matched ? html`<button type="button" class="danger" onClick=${commit}>Delete these ${fmtNum(preview.data.matched)}</button>` : null}
        </div>` : null}
        ${done && done.error ? html`<${ErrorBox} error=${done.error} />` : null}
        ${done && done.data ? html`<p class="ok" role="status">Deleted ${done.data.deleted_subjects} subjects (${done.data.deleted_episodes} episodes, ${done.data.deleted_memories} memories)${done.data.failed.length ? `; failed: ${done.data.failed.join(", ")}` : ""}.</p>` : null}
    </section>`;
}

export function OperationsPage() {
    useEffect(() => {
        if (location.hash) {
            const el = document.getElementById(location.hash.slice(1));
            if (el) el.scrollIntoView();
        }
    }, []);
    return html`<section>
        <h1>Operations</h1>
        <nav class="toc" aria-label="Sections"><a href="#h-dash">Dashboard</a> · <a href="#snapshots">Snapshots</a> · <a href="#jobs">Jobs</a> · <a href="#webhooks">Webhooks</a> · <a href="#bulk-delete">Delete subjects</a></nav>
        <${Dashboard} />
        <${Snapshots} />
        <${Jobs} />
        <${Webhooks} />
        <${BulkDelete} />
    </section>`;
}
