import { strict as assert } from "node:assert";
import { test } from "node:test";
import { expandPath, needsRestart, SERVER_SETTING_KEYS, toServerSettings } from "../settings";

const paths = { home: "/home/me", workspaceFolder: "/work/project" };

test("every server key is translated, nested keys into objects", () => {
  const values: Record<string, unknown> = {
    enabled: false, model: "/models/m", device: "cpu", maxTokens: 32, temperature: 0.2, contextTokens: 512,
    multiline: false, enabledLanguages: ["python"], debounceMs: 10, timeBudgetMs: 900,
    "codeActions.retries": 1, "translate.targets": ["go"], "translate.output": "below", "debug.logDocuments": true,
  };
  assert.deepEqual(Object.keys(values).sort(), [...SERVER_SETTING_KEYS].sort());
  assert.deepEqual(toServerSettings((key) => values[key], paths), {
    enabled: false, model: "/models/m", device: "cpu", maxTokens: 32, temperature: 0.2, contextTokens: 512,
    multiline: false, enabledLanguages: ["python"], debounceMs: 10, timeBudgetMs: 900,
    codeActions: { retries: 1 }, translate: { targets: ["go"], output: "below" }, debug: { logDocuments: true },
  });
});

test("unset keys are left to the server's defaults", () => {
  assert.deepEqual(toServerSettings((key) => (key === "maxTokens" ? 8 : undefined), paths), { maxTokens: 8 });
});

test("client-only settings never reach the server", () => {
  const settings = toServerSettings((key) => (key.startsWith("server.") ? "x" : undefined), paths);
  assert.deepEqual(settings, {});
});

test("the model path expands ~ and ${workspaceFolder}", () => {
  assert.equal(toServerSettings((key) => (key === "model" ? "~/models/a" : undefined), paths).model,
    "/home/me/models/a");
  assert.equal(expandPath("${workspaceFolder}/.codegen/store", paths), "/work/project/.codegen/store");
  assert.equal(expandPath("", paths), "");
  assert.equal(expandPath("/abs/~x", paths), "/abs/~x");
});

test("${workspaceFolder} without an open folder is a clear error", () => {
  assert.throws(() => expandPath("${workspaceFolder}/m", { home: "/h" }), /no folder is open/);
});

test("only the command settings restart the server", () => {
  assert.equal(needsRestart((section) => section === "codegen.server.pythonPath"), true);
  assert.equal(needsRestart((section) => section === "codegen.training.command"), true);
  assert.equal(needsRestart((section) => section === "codegen.maxTokens" || section === "codegen"), false);
});
