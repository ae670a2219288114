// A real VS Code (code-server) with the packaged extension, driven by headless Chromium through playwright-core:
// open a Python file, see the model's ghost text, accept it with Tab, list the "Generate from docstring" code action.
// Usage: node vscode_real.mjs  (environment: CODE_SERVER, VSIX, CHROMIUM, CODEGEN_TEST_PYTHON, CODEGEN_TEST_MODEL,
// CODEGEN_TEST_WORKDIR (an empty folder), CODEGEN_TEST_PORT, PLAYWRIGHT_CORE (its package folder)). Exits 0 on success; prints "ok - ..." lines.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const { chromium } = createRequire(import.meta.url)(env("PLAYWRIGHT_CORE"));
const workdir = env("CODEGEN_TEST_WORKDIR");
const port = env("CODEGEN_TEST_PORT");
const dirs = Object.fromEntries(["project", "data", "extensions"].map((name) => [name, path.join(workdir, name)]));
Object.values(dirs).forEach((dir) => fs.mkdirSync(dir, { recursive: true }));
const file = path.join(dirs.project, "main.py");
fs.writeFileSync(file, 'def greet(name):\n    """Return a greeting for name."""\n    pass\n\n\n');
fs.mkdirSync(path.join(dirs.data, "User"), { recursive: true });
fs.writeFileSync(path.join(dirs.data, "User", "settings.json"), JSON.stringify({
  "chat.disableAIFeatures": true,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "codegen.server.pythonPath": env("CODEGEN_TEST_PYTHON"),
  "codegen.model": env("CODEGEN_TEST_MODEL"),
  "codegen.device": "cpu",
  "codegen.maxTokens": 8,
}));

const check = (condition, what) => {
  if (!condition) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
};
const common = ["--user-data-dir", dirs.data, "--extensions-dir", dirs.extensions];
const installed = spawnSync(env("CODE_SERVER"), [...common, "--install-extension", env("VSIX")], { encoding: "utf8" });
check(installed.status === 0, `the .vsix installs (${(installed.stdout + installed.stderr).trim().split("\n").pop()})`);

// Its own process group, killed as a whole at the end.
const server = spawn(env("CODE_SERVER"), [...common, "--bind-addr", `127.0.0.1:${port}`, "--auth", "none",
  "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", dirs.project],
  { detached: true, stdio: ["ignore", "pipe", "pipe"] });
let serverLog = "";
server.stdout.on("data", (data) => (serverLog += data));
server.stderr.on("data", (data) => (serverLog += data));
let browser;
let page;
const started = Date.now();
try {
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {}
    if (attempt > 300) throw new Error(`code-server did not start:\n${serverLog}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.project)}`);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60000 });
  await page.getByRole("treeitem", { name: "main.py" }).first().click({ timeout: 60000 });
  const editor = page.locator(".editor-instance .monaco-editor").first();
  await editor.waitFor({ timeout: 30000 });
  check(true, "main.py opens in the editor");
  await page.locator(".statusbar-item", { hasText: "codegen" }).locator(".codicon-sparkle").waitFor({ timeout: 60000 });
  check(true, "the status bar shows the model ready");

  await editor.locator(".view-lines").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type("def mul(x, y):");
  await page.keyboard.press("Enter");
  await page.keyboard.type("return ");
  const ghost = page.locator(".ghost-text-decoration, .ghost-text").first();
  try {
    await ghost.waitFor({ timeout: 20000 });
  } catch {
    console.log("no automatic suggestion: triggering one (Alt+\\)");
    await page.keyboard.press("Alt+Backslash");
    await ghost.waitFor({ timeout: 30000 });
  }
  const suggestion = (await ghost.textContent()) ?? "";
  check(suggestion.trim().length > 0, `ghost text shows the model's suggestion (${JSON.stringify(suggestion)})`);
  await page.keyboard.press("Tab");
  await page.waitForTimeout(500);
  const lines = await editor.locator(".view-lines").innerText();
  const firstLine = suggestion.replace(/\u00a0/g, " ").split("\n")[0].trim();
  check(lines.replace(/\u00a0/g, " ").includes(`return ${firstLine}`.trim()), "Tab accepts it into the buffer");

  await page.keyboard.press("Control+G");
  await page.keyboard.type("2");
  await page.keyboard.press("Enter");
  await page.keyboard.press("End");
  await page.keyboard.press("Control+Shift+R"); // Refactor…: the code actions of kind refactor.*
  const action = page.locator(".action-widget", { hasText: "Generate" }).first();
  await action.waitFor({ timeout: 30000 });
  check(true, `the code action is listed natively (${(await action.innerText()).split("\n").join(" | ")})`);
  await page.keyboard.press("Enter");
  // The tiny random model rarely writes valid Python: the body is applied only when it parses, else a message.
  const outcome = await Promise.race([
    editor.locator(".view-line", { hasText: /^\s*pass\s*$/ }).waitFor({ state: "detached", timeout: 60000 })
      .then(() => "applied"),
    page.locator(".notifications-toasts", { hasText: "nothing" }).waitFor({ timeout: 60000 }).then(() => "refused"),
  ]);
  const body = (await editor.locator(".view-lines").innerText()).replace(/\u00a0/g, " ");
  check(outcome === "refused" || !/^\s*pass\s*$/m.test(body), `running it ends in a result (${outcome})`);
  await page.screenshot({ path: path.join(workdir, "vscode.png") });
  console.log(`finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  await page?.screenshot({ path: path.join(workdir, "failure.png") });
  console.log(`screenshot: ${path.join(workdir, "failure.png")}`);
  throw error;
} finally {
  await browser?.close();
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {}
}
