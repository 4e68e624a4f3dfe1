// context.js - the context playground: POST /v1/context with a task and a token budget, showing
// the assembled context, its token estimate, what was included, and — with "explain" — every
// selected and dropped candidate with its score terms. "As of" asks for the subject as it stood
// at an earlier instant.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { html, Field, ErrorBox, Badge, Link, subjectHref } from "../util.js";

function Explanation({ x }) {
    const names = [...new Set(x.selected.flatMap((s) => Object.keys(s.components || {})))];
    return html`<h2>Explanation</h2>
        <div class="scroll"><table class="list explain" aria-label="Selected items">
            <thead><tr><th scope="col">#</th><th scope="col">Type</th><th scope="col">Id</th><th scope="col" class="n">Score</th>
                ${names.map((n) => html`<th scope="col" class="n">${n}</th>`)}</tr></thead>
            <tbody>${x.selected.map((s, i) => html`<tr><td>${i + 1}</td><td><${Badge} value=${s.type} /></td><td><code>${String(s.id).slice(0, 8)}</code></td>
                <td class="n">${Number(s.score).toFixed(3)}</td>${names.map((n) => html`<td class="n">${s.components && n in s.components ? Number(s.components[n]).toFixed(3) : ""}</td>`)}</tr>`)}</tbody>
        </table></div>
        ${x.dropped && x.dropped.length ? html`<h3>Dropped (${x.dropped.length})</h3><ul class="dropped">
            ${x.dropped.map((d) => html`<li><${Badge} value=${d.type} /> <code>${String(d.id).slice(0, 8)}</code>: ${d.reason}</li>`)}</ul>` : html`<p class="muted">Nothing was dropped.</p>`}`;
}

export function ContextPage() {
    const u = new URLSearchParams(location.search);
    const [f, setF] = useState({
        subject_id: u.get("subject_id") || "",
        task: u.get("task") || "",
        max_tokens: u.get("max_tokens") || "4000",
        session_id: "",
        as_of: "",
        explain: true,
    });
    const [state, setState] = useState(null);
    const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.type === "checkbox" ? e.currentTarget.checked : e.currentTarget.value });
    const submit = (e) => {
        e.preventDefault();
        const body = { subject_id: f.subject_id.trim(), task: f.task, max_tokens: parseInt(f.max_tokens, 10) };
        if (f.session_id.trim()) body.session_id = f.session_id.trim();
        if (f.as_of) body.as_of = new Date(f.as_of).toISOString();
        if (f.explain) body.explain = true;
        setState({ busy: true });
        api("POST", "/v1/context", { body }).then((data) => setState({ data }), (error) => setState({ error }));
    };
    const d = state && state.data;
    return html`<section>
        <h1>Context playground</h1>
        <form class="grid-form" onSubmit=${submit} aria-label="Context request">
            <${Field} label="Subject"><input required name="subject_id" value=${f.subject_id} onInput=${set("subject_id")} /></${Field}>
            <${Field} label="Token budget"><input required type="number" min="1" max="128000" name="max_tokens" value=${f.max_tokens} onInput=${set("max_tokens")} /></${Field}>
            <${Field} label="Session (optional)"><input name="session_id" value=${f.session_id} onInput=${set("session_id")} /></${Field}>
            <${Field} label="As of (optional, your local time)"><input type="datetime-local" step="1" name="as_of" value=${f.as_of} onInput=${set("as_of")} /></${Field}>
            <${Field} label="Task" wide><textarea required name="task" rows="3" maxlength="4000" value=${f.task} onInput=${set("task")}></textarea></${Field}>
            <label class="check"><input type="checkbox" name="explain" checked=${f.explain} onChange=${set("explain")} /> explain the ranking</label>
            <button type="submit" disabled=${state && state.busy}>Assemble context</button>
        </form>
        ${state && state.error ? html`<${ErrorBox} error=${state.error} />` : null}
        ${d ? html`<div class="result">
            <p class="cards">
                <span class="card"><span class="k">Token estimate</span><span class="v" id="token-estimate">${d.token_estimate}</span></span>
                <span class="card"><span class="k">Facts</span><span class="v">${d.facts.length}</span></span>
                <span class="card"><span class="k">Procedures</span><span class="v">${d.procedures.length}</span></span>
                <span class="card"><span class="k">Episodes</span><span class="v">${d.episodes.length}</span></span>
                ${d.receipt_id ? html`<span class="card"><span class="k">Receipt</span><span class="v"><code>${d.receipt_id}</code></span></span>` : null}
            </p>
            <p><${Link} href=${subjectHref(d.subject_id)}>Open ${d.subject_id}</${Link}></p>
            <h2>Assembled context</h2>
            <pre class="context" id="assembled-context">${d.assembled_context}</pre>
            ${d.explanation ? html`<${Explanation} x=${d.explanation} />` : null}
        </div>` : null}
    </section>`;
}
