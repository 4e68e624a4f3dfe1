// validate.mjs - fetch URL (a running server's /openapi.json) and check it with
// @seriousme/openapi-schema-validator (the OpenAPI 3.1 JSON schema), then that every internal
// $ref resolves and that every request example fits its own body schema (Ajv, JSON Schema
// 2020-12, the dialect of OpenAPI 3.1). Prints one line per problem; exits 1 on any.
//   node tests/openapi/validate.mjs http://127.0.0.1:8100/openapi.json
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";

const url = process.argv[2];
const problems = [];
const res = await fetch(url);
if (res.status !== 200) {
    console.log(`GET ${url}: status ${res.status}`);
    process.exit(1);
}
const doc = await res.json();

const validator = new Validator();
const result = await validator.validate(doc);
if (!result.valid) {
    problems.push("not a valid OpenAPI document: " + JSON.stringify(result.errors, null, 1));
} else if (validator.version !== "3.1") {
    problems.push(`OpenAPI version ${validator.version}, want 3.1`);
}

// Every "$ref": "#/a/b" points at something.
function walk(node, path, fn) {
    if (node && typeof node === "object") {
        fn(node, path);
        for (const [k, v] of Object.entries(node)) walk(v, path + "/" + k, fn);
    }
}
walk(doc, "#", (node, path) => {
    if (typeof node.$ref !== "string") return;
    let target = doc;
    for (const part of node.$ref.replace(/^#\//, "").split("/")) {
        target = target && typeof target === "object" ? target[part] : undefined;
    }
    if (!node.$ref.startsWith("#/") || target === undefined) {
        problems.push(`${path}: $ref ${node.$ref} does not resolve`);
    }
});

// Every request example fits its schema (with the components for $ref).
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: "doc", components: doc.components }, "doc");
for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
        const media = op.requestBody?.content?.["application/json"];
        if (!media) continue;
        if (media.example === undefined) {
            problems.push(`${method.toUpperCase()} ${p}: request body without an example`);
            continue;
        }
        const schema = JSON.parse(JSON.stringify(media.schema).replaceAll('"#/components/',
                                                                          '"doc#/components/'));
        const check = ajv.compile(schema);
        if (!check(media.example)) {
            problems.push(`${method.toUpperCase()} ${p}: the example does not fit the schema: ` +
                          ajv.errorsText(check.errors));
        }
    }
}

for (const line of problems) console.log(line);
if (problems.length === 0) {
    console.log(`ok: ${Object.keys(doc.paths).length} paths, OpenAPI ${validator.version}`);
}
process.exit(problems.length ? 1 : 0);
