// docs-check.mjs - open a running server's /docs in headless Chromium (Debian's /usr/bin/chromium,
// driven by puppeteer-core; no browser is downloaded) and check that the page renders every
// operation of /openapi.json with no console message, no uncaught error, no failed request and
// no Content-Security-Policy violation. Prints one line per problem; exits 1 on any.
//   node tests/openapi/docs-check.mjs http://127.0.0.1:8100
import puppeteer from "puppeteer-core";

const base = process.argv[2].replace(/\/$/, "");
const chromium = process.env.ENGRAM_CHROMIUM || "/usr/bin/chromium";
const problems = [];

const doc = await (await fetch(base + "/openapi.json")).json();
let operations = 0;
for (const item of Object.values(doc.paths)) operations += Object.keys(item).length;

const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
    const page = await browser.newPage();
    await page.evaluateOnNewDocument(() => {
        window.__cspViolations = [];
        document.addEventListener("securitypolicyviolation", (e) => {
            window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
        });
    });
    page.on("console", (m) => problems.push(`console ${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`uncaught error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    const res = await page.goto(base + "/docs", { waitUntil: "networkidle0", timeout: 30000 });
    const csp = res.headers()["content-security-policy"] || "";
    if (!/script-src 'self'/.test(csp) || /unsafe-inline|unsafe-eval/.test(csp)) {
        problems.push(`weak or missing Content-Security-Policy: '${csp}'`);
    }
    await page.waitForSelector(".opblock", { timeout: 20000 }).catch(() => {
        problems.push("no operation was rendered within 20 s");
    });
    const shown = await page.$$eval(".opblock", (els) => els.length);
    if (shown !== operations) {
        problems.push(`the page shows ${shown} operations, /openapi.json has ${operations}`);
    }
    const title = await page.$eval(".info .title", (el) => el.textContent).catch(() => "");
    if (!title.includes("Engram")) problems.push(`title '${title}' does not name Engram`);
    for (const v of await page.evaluate(() => window.__cspViolations)) {
        problems.push(`CSP violation: ${v}`);
    }
    if (problems.length === 0) console.log(`ok: /docs shows ${shown} operations`);
} catch (e) {
    problems.push(`${e.name}: ${e.message}`);
} finally {
    await browser.close();
}
for (const line of problems) console.log(line);
process.exit(problems.length ? 1 : 0);
