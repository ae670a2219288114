// Wiring only: the log, the status bar, the server, the commands and the configuration listener.
import * as vscode from "vscode";
import { ServerController } from "./client";
import { finetuneWorkspace } from "./finetune";
import { createLog, Log, showError } from "./logging";
import { needsRestart } from "./settings";
import { StatusBar } from "./status";

let controller: ServerController | undefined;

/** `work` with its errors shown to the user instead of lost. */
function guarded<A extends unknown[]>(log: Log, work: (...args: A) => Promise<unknown>) {
  return async (...args: A): Promise<void> => {
    try {
      await work(...args);
    } catch (error) {
      await showError(log, error instanceof Error ? error.message : String(error));
    }
  };
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = createLog();
  const status = new StatusBar();
  const server = (controller = new ServerController(log, status));
  context.subscriptions.push(
    log,
    status,
    server,
    vscode.commands.registerCommand("codegen-lsp.reloadModel", guarded(log, async () => {
      await server.execute("codegen.reloadModel");
      await server.followModel();
    })),
    vscode.commands.registerCommand("codegen-lsp.finetune", guarded(log, () => finetuneWorkspace(log, server))),
    vscode.commands.registerCommand("codegen-lsp.toggle", guarded(log, async () => {
      const { enabled } = await server.execute<{ enabled: boolean }>("codegen.toggle");
      await server.followModel();
      void vscode.window.showInformationMessage(`codegen: inline completion ${enabled ? "on" : "off"}`);
    })),
    vscode.commands.registerCommand("codegen-lsp.showLog", () => log.show()),
    vscode.workspace.onDidChangeConfiguration(guarded(log, async (event: vscode.ConfigurationChangeEvent) => {
      if (needsRestart((section) => event.affectsConfiguration(section))) {
        await server.restart();
      } else if (event.affectsConfiguration("codegen")) {
        await server.settingsChanged();
      }
    })),
  );
  await server.start();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
}
