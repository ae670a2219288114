// The language client: starts the server, feeds it settings, follows the model's state in the status bar.
import * as os from "node:os";
import * as fs from "node:fs";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from "vscode-languageclient/node";
import { Log, showError } from "./logging";
import { Command, CommandSettings, Probe, resolveCommand, SERVER } from "./server";
import { ServerSettings, toServerSettings } from "./settings";
import { StatusBar } from "./status";

const STATUS_POLL_MS = 500;
const STATUS_POLL_LIMIT = 600; // five minutes of loading at most

/** codegen.status's answer. */
interface ServerStatus {
  state: "idle" | "loading" | "ready" | "failed";
  model: string | null;
  device: string | null;
  error: string | null;
  enabled: boolean;
}

export function workspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** The server settings as the server takes them, from the current configuration. */
export function currentServerSettings(): ServerSettings {
  const configuration = vscode.workspace.getConfiguration("codegen");
  return toServerSettings((key) => configuration.get(key), { home: os.homedir(), workspaceFolder: workspaceFolder() });
}

/** The command settings of `section` (server or training) with the shared interpreter and workspace. */
export function commandSettings(key: "server.command" | "training.command"): CommandSettings {
  const configuration = vscode.workspace.getConfiguration("codegen");
  return {
    command: configuration.get<string[]>(key, []),
    pythonPath: configuration.get<string>("server.pythonPath", ""),
    workspaceFolder: workspaceFolder(),
  };
}

export const localProbe: Probe = {
  isExecutable(file: string): boolean {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  },
  searchPath: (process.env.PATH ?? "").split(process.platform === "win32" ? ";" : ":"),
  platform: process.platform,
};

function delay(ms: number, token: vscode.CancellationToken): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(!token.isCancellationRequested), ms);
    token.onCancellationRequested(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

export class ServerController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private polling = 0;

  constructor(
    private readonly log: Log,
    private readonly status: StatusBar,
  ) {}

  async start(): Promise<void> {
    let server: Command;
    let clientOptions: LanguageClientOptions;
    try {
      server = resolveCommand(SERVER, commandSettings("server.command"), localProbe);
      clientOptions = this.clientOptions();
    } catch (error) {
      this.status.set("error", String(error));
      await showError(this.log, (error as Error).message);
      return;
    }
    this.log.info(`starting ${server.command} ${server.args.join(" ")}`);
    const serverOptions: ServerOptions = { command: server.command, args: server.args, options: { cwd: workspaceFolder() } };
    this.client = new LanguageClient("codegen", "codegen", serverOptions, clientOptions);
    this.status.set("starting");
    try {
      await this.client.start();
    } catch (error) {
      this.status.set("error", String(error));
      await showError(this.log, `the server did not start (${server.command}): ${error}`);
      return;
    }
    await this.followModel();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isRunning()) {
      await client.stop();
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  dispose(): void {
    void this.stop();
  }

  /** Run server command `command` (codegen.status, codegen.reloadModel, codegen.toggle). */
  async execute<T>(command: string, args: unknown[] = []): Promise<T> {
    if (!this.client?.isRunning()) {
      throw new Error("the server is not running; see the log (codegen: Show log)");
    }
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }) as Promise<T>;
  }

  /** Push the changed settings to the server, then follow the (possibly reloading) model. */
  async settingsChanged(): Promise<void> {
    if (!this.client?.isRunning()) {
      return;
    }
    await this.client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { codegen: currentServerSettings() },
    });
    await this.followModel();
  }

  /** Ask codegen.status until the model is no longer loading, showing its state in the status bar. */
  async followModel(): Promise<void> {
    const round = ++this.polling;
    for (let attempt = 0; attempt < STATUS_POLL_LIMIT && round === this.polling; attempt++) {
      let status: ServerStatus;
      try {
        status = await this.execute<ServerStatus>("codegen.status");
      } catch (error) {
        this.status.set("error", String(error));
        return;
      }
      if (status.state === "ready") {
        this.status.set(status.enabled ? "ready" : "off", `${status.model} (${status.device})`);
        return;
      }
      if (status.state === "failed") {
        this.status.set("error", status.error ?? "the model could not be loaded");
        return;
      }
      this.status.set("loading", status.model ?? undefined);
      await new Promise((resolve) => setTimeout(resolve, STATUS_POLL_MS));
    }
  }

  private clientOptions(): LanguageClientOptions {
    const status = this.status;
    return {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      initializationOptions: currentServerSettings(),
      outputChannel: this.log,
      middleware: {
        workspace: {
          // Answer workspace/configuration for section `codegen` with the translated settings.
          configuration: (params, token, next) =>
            params.items.every((item) => item.section === "codegen")
              ? params.items.map(() => currentServerSettings())
              : next(params, token),
        },
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          const debounceMs = vscode.workspace.getConfiguration("codegen").get<number>("debounceMs", 50);
          if (!(await delay(debounceMs, token))) {
            return null;
          }
          return status.generating(() => next(document, position, context, token));
        },
      },
    };
  }
}
