// The server's settings from VS Code's `codegen.*` configuration (pure: no `vscode` import, unit-tested).

/** The server's keys (ARCHITECTURE.md), dotted for nested ones; `codegen.<key>` in VS Code. */
export const SERVER_SETTING_KEYS = [
  "enabled",
  "model",
  "device",
  "maxTokens",
  "temperature",
  "contextTokens",
  "multiline",
  "enabledLanguages",
  "debounceMs",
  "timeBudgetMs",
  "codeActions.retries",
  "translate.targets",
  "translate.output",
  "debug.logDocuments",
] as const;

/** Settings only the extension reads: changing them restarts the server. */
export const CLIENT_SETTING_KEYS = ["server.command", "server.pythonPath", "training.command"] as const;

export type ServerSettings = { [key: string]: unknown };

/** Where `~` and `${workspaceFolder}` point. */
export interface PathContext {
  home: string;
  workspaceFolder?: string;
}

/** `value` with a leading `~` and any `${workspaceFolder}` expanded; an empty value stays empty. */
export function expandPath(value: string, context: PathContext): string {
  let expanded = value;
  if (expanded === "~" || expanded.startsWith("~/")) {
    expanded = context.home + expanded.slice(1);
  }
  if (expanded.includes("${workspaceFolder}")) {
    if (context.workspaceFolder === undefined) {
      throw new Error(`codegen.model uses \${workspaceFolder} but no folder is open; open a folder or use an absolute path`);
    }
    expanded = expanded.split("${workspaceFolder}").join(context.workspaceFolder);
  }
  return expanded;
}

/**
 * The wire object the server takes (initializationOptions, workspace/configuration section `codegen`):
 * `get(key)` reads `codegen.<key>`; unset keys (undefined) are left to the server's defaults.
 */
export function toServerSettings(get: (key: string) => unknown, paths: PathContext): ServerSettings {
  const settings: ServerSettings = {};
  for (const key of SERVER_SETTING_KEYS) {
    let value = get(key);
    if (value === undefined) {
      continue;
    }
    if (key === "model" && typeof value === "string") {
      value = expandPath(value, paths);
    }
    const [head, leaf] = key.split(".");
    if (leaf === undefined) {
      settings[head] = value;
    } else {
      const section = (settings[head] ??= {}) as ServerSettings;
      section[leaf] = value;
    }
  }
  return settings;
}

/** Whether a configuration change of `affects(section)` needs the server restarted (not just told). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return CLIENT_SETTING_KEYS.some((key) => affects(`codegen.${key}`));
}
