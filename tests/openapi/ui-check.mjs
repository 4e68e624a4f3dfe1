// ui-check.mjs - drive the admin web UI (/ui/) in headless Chromium (Debian's /usr/bin/chromium,
// through puppeteer-core; no browser is downloaded) the way an operator would, and fail on any
// console message, uncaught error, failed request, unexpected HTTP error or CSP violation.
//
//   node tests/openapi/ui-check.mjs BASE SCENARIO [ARGS…]
//
// Scenarios (tests/api/93-ui.py seeds the data each expects):
//   walk SUBJECT SNAPSHOT TARGET   list → find SUBJECT → open it → a compiled memory and its
//                                  source episode → context query (explained; as of an
//                                  earlier instant) → search playground →
//                                  operations: restore SNAPSHOT into TARGET → TARGET's page
//   key KEY SUBJECT                the page loads without the key; data calls show the 401;
//                                  typing KEY makes the list (and SUBJECT) appear
//   tenant TENANT SUBJECT OTHER    with TENANT typed, SUBJECT is listed and OTHER is not
//   layout SUBJECT                 a phone-sized viewport: no horizontal scrolling; dark
//                                  scheme followed; keyboard reaches the search box and tabs
//   screenshots DIR SUBJECT        PNGs of the main pages at 1280 px into DIR
// Prints "ok: …" or one line per problem; exits 1 on any.
import puppeteer from "puppeteer-core";

const [baseArg, scenario, ...args] = process.argv.slice(2);
const base = baseArg.replace(/\/$/, "");
const chromium = process.env.ENGRAM_CHROMIUM || "/usr/bin/chromium";
const problems = [];
const expectedStatus = new Set(); // "401 /admin/subjects" style entries a scenario provokes on purpose

function check(cond, what) {
    if (!cond) problems.push(what);
    return cond;
}

const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});

async function newPage(viewport = { width: 1280, height: 900 }) {
    const page = await browser.newPage();
    await page.setViewport(viewport);
    await page.evaluateOnNewDocument(() => {
        window.__csp = [];
        document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI}`));
    });
    page.on("console", (m) => {
        // Chromium logs every non-2xx fetch as a console error; those are judged by status below.
        if (m.type() === "error" && /Failed to load resource: the server responded with a status of/.test(m.text())) return;
        problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`uncaught error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => {
        if (r.status() < 400) return;
        const path = new URL(r.url()).pathname;
        if (expectedStatus.has(`${r.status()} ${path}`)) return;
        problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
    });
    return page;
}

async function cspCheck(page) {
    for (const v of await page.evaluate(() => window.__csp || [])) problems.push(`CSP violation: ${v}`);
}

const text = (page, sel) => page.$eval(sel, (el) => el.textContent);

async function open(page, path, waitFor) {
    const res = await page.goto(base + path, { waitUntil: "networkidle0", timeout: 30000 });
    check(res.status() === 200, `GET ${path} answered ${res.status()}`);
    const csp = res.headers()["content-security-policy"] || "";
    check(/script-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), `weak or missing CSP on ${path}: '${csp}'`);
    if (waitFor) await page.waitForSelector(waitFor, { timeout: 15000 });
}

async function walk(subject, snapshot, target) {
    const page = await newPage();
    // 1. The subject list; find the seeded subject with the search box.
    await open(page, "/ui/", "table.subjects, .muted");
    await page.type('input[name="search"]', subject);
    await Promise.all([page.waitForNavigation({ waitUntil: "networkidle0" }).catch(() => {}), page.click('form[role="search"] button[type="submit"]')]);
    await page.waitForFunction((s) => [...document.querySelectorAll("table.subjects a")].some((a) => a.textContent === s), { timeout: 15000 }, subject);
    check(new URL(page.url()).search.includes("search="), "the search is not kept in the URL");
    // 2. Open it: a compiled memory and its source episode.
    await page.$$eval("table.subjects a", (as, s) => as.find((a) => a.textContent === s).click(), subject);
    await page.waitForSelector("article.rec.mem", { timeout: 15000 });
    check(decodeURIComponent(new URL(page.url()).pathname) === "/ui/subjects/" + subject, `subject URL is ${page.url()}`);
    check((await text(page, "h1")) === subject, "the page's heading is not the subject id");
    const memContent = await text(page, "article.rec.mem .content");
    check(memContent.length > 0, "a memory shows no content");
    const src = await page.$("article.rec.mem a.src");
    if (check(src, "a memory shows no source episode link")) {
        const href = await page.$eval("article.rec.mem a.src", (a) => a.getAttribute("href"));
        await src.click();
        await page.waitForSelector("article.rec.ep.target", { timeout: 5000 }).catch(() => problems.push("the source link did not lead to its episode"));
        const id = await page.$eval("article.rec.ep.target", (el) => el.id).catch(() => "");
        check("#" + id === href, `the marked episode ${id} is not the memory's source ${href}`);
        check(await page.$eval("article.rec.ep.target", (el) => el.getBoundingClientRect().top < innerHeight).catch(() => false), "the source episode is not in view");
        const cites = await page.$$eval("article.rec.ep.target a.cite", (as) => as.length).catch(() => 0);
        check(cites > 0, "the episode does not link back to the memory citing it");
    }
    // The explorer tabs: memories (with its filter) and episodes.
    await page.click("#tab-memories");
    await page.waitForSelector("#panel-memories article.rec.mem", { timeout: 15000 });
    await page.click("#tab-episodes");
    await page.waitForSelector("#panel-episodes article.rec.ep", { timeout: 15000 });
    await page.click("#panel-episodes article.rec.ep button.link:last-of-type").catch(() => {});
    await cspCheck(page);

    // 3. A context query from the subject's page.
    await page.click("#tab-timeline");
    await Promise.all([page.waitForSelector('textarea[name="task"]', { timeout: 15000 }), page.click('a.button[href^="/ui/context"]')]);
    check((await page.$eval('input[name="subject_id"]', (i) => i.value)) === subject, "the context playground did not take the subject");
    await page.type('textarea[name="task"]', "What does the user prefer?");
    await page.click('form[aria-label="Context request"] button[type="submit"]');
    await page.waitForSelector("#assembled-context", { timeout: 15000 });
    const ctx = await text(page, "#assembled-context");
    check(ctx.startsWith("## Task\nWhat does the user prefer?"), `assembled context starts '${ctx.slice(0, 60)}'`);
    check(ctx.includes(memContent.trim()), "the assembled context does not hold the subject's memory");
    check(Number(await text(page, "#token-estimate")) > 0, "no token estimate shown");
    // "explain": every selected item with its score terms.
    const explained = await page.$$eval("table.explain tbody tr", (rows) => rows.length).catch(() => 0);
    check(explained > 0, "the explanation of the ranking is not shown");
    // "As of" an instant before anything was recorded: the subject had no memory then.
    await page.$eval('input[name="as_of"]', (el) => {
        const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
        set.call(el, "2001-01-01T00:00:00");
        el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await page.click('form[aria-label="Context request"] button[type="submit"]');
    await page.waitForFunction(() => !document.querySelector("#assembled-context")?.textContent.includes("## About this user"), { timeout: 15000 })
        .catch(() => problems.push("as_of before the first episode still shows the subject's facts"));

    // 4. The search playground: each mode answers or shows the server's error.
    await open(page, "/ui/search?subject_id=" + encodeURIComponent(subject), 'input[name="q"]');
    await page.type('input[name="q"]', memContent.trim().split(/\s+/).slice(-1)[0].replace(/[^\p{L}\p{N}]/gu, ""));
    await page.click('form[role="search"] button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll(".column").length === 4 && !document.body.textContent.includes("searching…"), { timeout: 15000 });
    const textHits = await page.$$eval('.column[data-mode="text"] ol.hits li', (l) => l.length);
    check(textHits > 0, "text search in the playground found nothing");

    // 5. Operations: restore the snapshot into a new subject, then open it.
    await open(page, "/ui/operations", "table.snapshots");
    const row = await page.evaluateHandle((name) => [...document.querySelectorAll("table.snapshots tbody tr")].find((tr) => tr.cells[0].textContent === name), snapshot);
    if (check(await row.evaluate((r) => !!r), `snapshot ${snapshot} is not listed`)) {
        const input = await row.$('input[name="target_subject_id"]');
        await input.type(target);
        await (await row.$('button[type="submit"]')).click();
        await page.waitForFunction(() => document.querySelector("table.snapshots [role=status], table.snapshots .error"), { timeout: 15000 });
        const status = await row.$eval("[role=status]", (el) => el.textContent).catch(() => "");
        check(/Restored \d+ episodes and \d+ memories/.test(status), `restore did not report success: '${status}'`);
        await row.$eval("[role=status] a", (a) => a.click());
        await page.waitForSelector("article.rec.mem", { timeout: 15000 });
        check((await text(page, "h1")) === target, "the restored subject's page did not open");
    }
    await open(page, "/ui/operations", "figure.chart canvas");
    check((await page.$$("figure.chart canvas")).length >= 2, "the usage charts were not drawn");
    await cspCheck(page);
    return `walked list → ${subject} → memory/source episode → context → search → restore ${snapshot} into ${target}`;
}

async function withKey(key, subject) {
    expectedStatus.add("401 /admin/subjects");
    const page = await newPage();
    await open(page, "/ui/subjects", ".error");
    const err = await text(page, ".error");
    check(err.includes("401") && err.includes("X-API-Key header is required"), `the missing key is not explained: '${err}'`);
    await page.type('input[name="api_key"]', key);
    await page.click('form.settings button[type="submit"]');
    await page.waitForSelector("table.subjects", { timeout: 15000 });
    check(await page.$$eval("table.subjects a", (as, s) => as.some((a) => a.textContent === s), subject), `${subject} is not listed with the key`);
    // The key survives a reload (sessionStorage) and is never in the page's URL.
    await page.reload({ waitUntil: "networkidle0" });
    await page.waitForSelector("table.subjects", { timeout: 15000 });
    check(!page.url().includes(key), "the key is in the URL");
    return "without the key the 401 is shown; with it the list loads";
}

async function withTenant(tenant, subject, other) {
    const page = await newPage();
    await open(page, "/ui/subjects", "table.subjects");
    const all = await page.$$eval("table.subjects a", (as) => as.map((a) => a.textContent));
    check(all.includes(subject) && all.includes(other), `without a tenant both subjects should be listed: ${all}`);
    await page.type('input[name="tenant"]', tenant);
    await page.click('form.settings button[type="submit"]');
    await page.waitForFunction((o) => ![...document.querySelectorAll("table.subjects a")].some((a) => a.textContent === o), { timeout: 15000 }, other);
    const some = await page.$$eval("table.subjects a", (as) => as.map((a) => a.textContent));
    check(some.includes(subject) && !some.includes(other), `tenant ${tenant} lists ${some}`);
    return `tenant ${tenant} lists ${subject}, not ${other}`;
}

async function layout(subject) {
    expectedStatus.add("404 /admin/snapshots"); // the server runs with snapshots off
    const page = await newPage({ width: 390, height: 844, isMobile: true, hasTouch: true });
    for (const path of ["/ui/subjects", "/ui/subjects/" + encodeURIComponent(subject), "/ui/context", "/ui/operations"]) {
        await open(page, path, "main h1");
        const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        check(over <= 1, `${path} scrolls sideways by ${over}px on a phone-sized screen`);
    }
    const light = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
    const dark = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    check(light !== dark, `the dark scheme is not followed (${light} both)`);
    check(/turned off/.test(await text(page, "main")), "the operations page does not say snapshots are off");
    // Keyboard: Tab reaches the search box of the list, and arrow keys move between tabs.
    const desk = await newPage();
    await open(desk, "/ui/subjects", "main h1");
    let reached = false;
    for (let i = 0; i < 15 && !reached; i++) {
        await desk.keyboard.press("Tab");
        reached = await desk.evaluate(() => document.activeElement && document.activeElement.name === "search");
    }
    check(reached, "Tab does not reach the subject search box");
    await open(desk, "/ui/subjects/" + encodeURIComponent(subject), "#tab-timeline");
    await desk.focus("#tab-timeline");
    await desk.keyboard.press("ArrowRight");
    check(await desk.evaluate(() => document.activeElement.id === "tab-memories"), "ArrowRight does not move to the next tab");
    await desk.waitForSelector("#panel-memories", { timeout: 15000 });
    await cspCheck(page);
    return "phone-sized pages do not scroll sideways; dark scheme followed; keyboard navigation works";
}

async function screenshots(dir, subject) {
    const page = await newPage({ width: 1280, height: 860 });
    const shots = [
        ["ui-subjects.png", "/ui/subjects", "table.subjects"],
        ["ui-subject.png", "/ui/subjects/" + encodeURIComponent(subject), "article.rec.mem"],
        ["ui-operations.png", "/ui/operations", "figure.chart canvas"],
    ];
    for (const [file, path, sel] of shots) {
        await open(page, path, sel);
        await page.screenshot({ path: `${dir}/${file}` });
    }
    await open(page, "/ui/context?subject_id=" + encodeURIComponent(subject), 'textarea[name="task"]');
    await page.type('textarea[name="task"]', "What does the user prefer?");
    await page.click('form[aria-label="Context request"] button[type="submit"]');
    await page.waitForSelector("#assembled-context", { timeout: 15000 });
    await page.screenshot({ path: `${dir}/ui-context.png` });
    return `4 screenshots in ${dir}`;
}

let done = "";
try {
    if (scenario === "walk") done = await walk(...args);
    else if (scenario === "key") done = await withKey(...args);
    else if (scenario === "tenant") done = await withTenant(...args);
    else if (scenario === "layout") done = await layout(...args);
    else if (scenario === "screenshots") done = await screenshots(...args);
    else problems.push(`unknown scenario '${scenario}'`);
} catch (e) {
    problems.push(`${e.name}: ${e.message}`);
} finally {
    await browser.close();
}
const real = problems.filter((p) => p);
if (!real.length) console.log(`ok: ${done}`);
for (const line of real) console.log(line);
process.exit(real.length ? 1 : 0);
