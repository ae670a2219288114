// Which command starts the server, and which one trains (pure: no `vscode` import, unit-tested).
import * as path from "node:path";

export interface Command {
  command: string;
  args: string[];
}

export interface CommandSettings {
  /** codegen.server.command (or codegen.training.command) */
  command: string[];
  /** codegen.server.pythonPath */
  pythonPath: string;
  /** The first workspace folder, whose .venv is looked at. */
  workspaceFolder?: string;
}

/** What the resolution may look at on this machine. */
export interface Probe {
  isExecutable(file: string): boolean;
  /** The PATH entries. */
  searchPath: string[];
  platform: NodeJS.Platform;
}

/** A console script (`codegen-lsp`) or its `python -m` module (`codegen_lsp`). */
export interface Tool {
  script: string;
  module: string;
  settingName: string;
}

export const SERVER: Tool = { script: "codegen-lsp", module: "codegen_lsp", settingName: "codegen.server.command" };
export const TRAINING: Tool = { script: "codegen-train", module: "training", settingName: "codegen.training.command" };

export class CommandNotFound extends Error {}

function venvScript(folder: string, script: string, platform: NodeJS.Platform): string {
  return platform === "win32"
    ? path.win32.join(folder, ".venv", "Scripts", `${script}.exe`)
    : path.posix.join(folder, ".venv", "bin", script);
}

/**
 * The command for `tool`: the explicit command setting; else `pythonPath -m module`; else the workspace's
 * .venv script; else the script on PATH. Throws CommandNotFound with the fix when none applies.
 */
export function resolveCommand(tool: Tool, settings: CommandSettings, probe: Probe): Command {
  const [command, ...args] = settings.command;
  if (command) {
    return { command, args };
  }
  if (settings.pythonPath) {
    return { command: settings.pythonPath, args: ["-m", tool.module] };
  }
  if (settings.workspaceFolder) {
    const candidate = venvScript(settings.workspaceFolder, tool.script, probe.platform);
    if (probe.isExecutable(candidate)) {
      return { command: candidate, args: [] };
    }
  }
  const join = probe.platform === "win32" ? path.win32.join : path.posix.join;
  const name = probe.platform === "win32" ? `${tool.script}.exe` : tool.script;
  for (const directory of probe.searchPath) {
    const candidate = join(directory, name);
    if (directory && probe.isExecutable(candidate)) {
      return { command: candidate, args: [] };
    }
  }
  throw new CommandNotFound(
    `${tool.script} not found (not in the workspace's .venv nor on PATH): pip install codegen-lsp, ` +
      `or set ${tool.settingName} or codegen.server.pythonPath`,
  );
}
