import { strict as assert } from "node:assert";
import { test } from "node:test";
import { CommandNotFound, Probe, resolveCommand, SERVER, TRAINING } from "../server";

function probe(executables: string[], platform: NodeJS.Platform = "linux"): Probe {
  return { isExecutable: (file) => executables.includes(file), searchPath: ["/usr/local/bin", "", "/usr/bin"], platform };
}

test("an explicit command wins, split into command and arguments", () => {
  const settings = { command: ["/opt/venv/bin/codegen-lsp", "--log-level", "INFO"], pythonPath: "/usr/bin/python3" };
  assert.deepEqual(resolveCommand(SERVER, settings, probe([])), {
    command: "/opt/venv/bin/codegen-lsp",
    args: ["--log-level", "INFO"],
  });
});

test("a Python interpreter runs the module", () => {
  assert.deepEqual(resolveCommand(SERVER, { command: [], pythonPath: "/opt/py/bin/python" }, probe([])), {
    command: "/opt/py/bin/python",
    args: ["-m", "codegen_lsp"],
  });
  assert.deepEqual(resolveCommand(TRAINING, { command: [], pythonPath: "/opt/py/bin/python" }, probe([])).args, [
    "-m",
    "training",
  ]);
});

test("the workspace's .venv comes before PATH", () => {
  const found = probe(["/work/p/.venv/bin/codegen-lsp", "/usr/bin/codegen-lsp"]);
  assert.deepEqual(resolveCommand(SERVER, { command: [], pythonPath: "", workspaceFolder: "/work/p" }, found), {
    command: "/work/p/.venv/bin/codegen-lsp",
    args: [],
  });
});

test("PATH is searched in order, skipping empty entries", () => {
  const found = probe(["/usr/bin/codegen-train", "codegen-train"]);
  assert.equal(resolveCommand(TRAINING, { command: [], pythonPath: "", workspaceFolder: "/w" }, found).command,
    "/usr/bin/codegen-train");
});

test("Windows looks for Scripts\\codegen-lsp.exe", () => {
  const found = probe(["C:\\w\\.venv\\Scripts\\codegen-lsp.exe"], "win32");
  assert.equal(resolveCommand(SERVER, { command: [], pythonPath: "", workspaceFolder: "C:\\w" }, found).command,
    "C:\\w\\.venv\\Scripts\\codegen-lsp.exe");
});

test("nothing found names the fix", () => {
  assert.throws(
    () => resolveCommand(SERVER, { command: [], pythonPath: "" }, probe([])),
    (error: Error) =>
      error instanceof CommandNotFound && /pip install codegen-lsp/.test(error.message) &&
      /codegen\.server\.command/.test(error.message),
  );
});
