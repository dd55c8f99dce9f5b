// Builds dist/, which the platform embeds and serves under /outlook/ (so running the platform
// needs no Node.js): each entry bundled into one file without imports — classic Outlook's
// JavaScript-only runtime takes nothing else — for ES2016, the newest that Outlook builds
// before 2403 run; the pages, the task pane's style sheet and the icons copied. The output is reproducible (no timestamps, no
// source paths), and `npm test` checks that dist/ is what this script makes from src/.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] || join(root, "dist");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const entries = { commands: "src/commands/commands.js", taskpane: "src/taskpane/taskpane.js" };
for (const [name, entry] of Object.entries(entries)) {
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(out, `${name}.js`),
    bundle: true,
    format: "iife",
    target: "es2016",
    charset: "utf8",
    legalComments: "none",
    logLevel: "warning",
  });
}
for (const page of ["commands/commands.html", "taskpane/taskpane.html", "taskpane/taskpane.css"]) {
  copyFileSync(join(root, "src", page), join(out, page.split("/")[1]));
}
for (const f of readdirSync(join(root, "assets")).filter((f) => f.endsWith(".png"))) {
  copyFileSync(join(root, "assets", f), join(out, f));
}
