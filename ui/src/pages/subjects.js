// subjects.js - the subject list: GET /admin/subjects (search, sort, pages), each row opening
// the subject's page.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { html, Link, Loading, Pager, Badge, Field, fmtTime, fmtNum, navigate, subjectHref, useLoad } from "../util.js";

const LIMIT = 50;

function readQuery() {
    const u = new URLSearchParams(location.search);
    return {
        search: u.get("search") || "",
        sort_by: u.get("sort_by") || "last_activity",
        sort_order: u.get("sort_order") || "desc",
        offset: Math.max(0, parseInt(u.get("offset") || "0", 10) || 0),
    };
}

function go(q) {
    const u = new URLSearchParams();
    if (q.search) u.set("search", q.search);
    if (q.sort_by !== "last_activity") u.set("sort_by", q.sort_by);
    if (q.sort_order !== "desc") u.set("sort_order", q.sort_order);
    if (q.offset) u.set("offset", String(q.offset));
    const s = u.toString();
    navigate("/ui/subjects" + (s ? "?" + s : ""));
}

export function SubjectsPage() {
    const q = readQuery();
    const [search, setSearch] = useState(q.search);
    const [state] = useLoad(
        () => api("GET", "/admin/subjects", { tenant: "query", query: { ...q, limit: LIMIT } }),
        [q.search, q.sort_by, q.sort_order, q.offset],
    );
    const submit = (e) => {
        e.preventDefault();
        go({ ...q, search: search.trim(), offset: 0 });
    };
    return html`<section>
        <h1>Subjects</h1>
        <form class="row" role="search" onSubmit=${submit}>
            <${Field} label="Find a subject">
                <input type="search" name="search" value=${search} placeholder="part of a subject id"
                    onInput=${(e) => setSearch(e.currentTarget.value)} /></${Field}>
            <${Field} label="Sort by">
                <select name="sort_by" value=${q.sort_by} onChange=${(e) => go({ ...q, sort_by: e.currentTarget.value, offset: 0 })}>
                    <option value="last_activity">last activity</option>
                    <option value="subject_id">subject id</option>
                    <option value="episode_count">episodes</option>
                    <option value="memory_count">memories</option>
                </select></${Field}>
            <${Field} label="Order">
                <select name="sort_order" value=${q.sort_order} onChange=${(e) => go({ ...q, sort_order: e.currentTarget.value, offset: 0 })}>
                    <option value="desc">descending</option>
                    <option value="asc">ascending</option>
                </select></${Field}>
            <button type="submit">Search</button>
        </form>
        <${Loading} state=${state}>${() => {
            const d = state.data;
            if (!d.subjects.length) {
                return html`<p class="muted">No subject${q.search ? ` matches “${q.search}”` : " yet"}.
                    Subjects appear when an agent records episodes (<code>POST /v1/episodes</code>).</p>`;
            }
            return html`<div class="scroll"><table class="list subjects">
                <thead><tr><th scope="col">Subject</th><th scope="col">Tenant</th><th scope="col" class="n">Episodes</th>
                    <th scope="col" class="n">Memories</th><th scope="col" class="n">Sessions</th>
                    <th scope="col">Last activity</th><th scope="col">Health</th></tr></thead>
                <tbody>${d.subjects.map((s) => html`<tr key=${s.subject_id + "\u0000" + (s.tenant_id || "")}>
                    <td><${Link} href=${subjectHref(s.subject_id)}>${s.subject_id}</${Link}></td>
                    <td>${s.tenant_id || html`<span class="muted">—</span>`}</td>
                    <td class="n">${fmtNum(s.episode_count)}</td><td class="n">${fmtNum(s.memory_count)}</td>
                    <td class="n">${fmtNum(s.session_count)}${s.open_sessions ? html` <small>(${s.open_sessions} open)</small>` : null}</td>
                    <td>${fmtTime(s.last_episode_at)}</td>
                    <td><${Badge} value=${s.health_state} />${s.health_score !== null && s.health_score !== undefined ? html` <small>${s.health_score}</small>` : null}</td>
                </tr>`)}</tbody></table></div>
                <${Pager} offset=${q.offset} limit=${LIMIT} count=${d.subjects.length} total=${d.total}
                    onPage=${(o) => go({ ...q, offset: o })} />`;
        }}</${Loading}>
    </section>`;
}
