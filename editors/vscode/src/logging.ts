// The "codegen" output channel: the extension's own log lines and the language client's.
import * as vscode from "vscode";

export type Log = vscode.LogOutputChannel;

export function createLog(): Log {
  return vscode.window.createOutputChannel("codegen", { log: true });
}

/** Show `message` as an error with a button that opens the log. */
export async function showError(log: Log, message: string): Promise<void> {
  log.error(message);
  const choice = await vscode.window.showErrorMessage(`codegen: ${message}`, "Show log");
  if (choice) {
    log.show();
  }
}
