// "codegen: Fine-tune on this workspace": runs `<training command> finetune <folder>` with a progress
// notification (cancellable), its output in the log, then reloads the model.
import { spawn } from "node:child_process";
import * as vscode from "vscode";
import { commandSettings, localProbe, ServerController, workspaceFolder } from "./client";
import { Log, showError } from "./logging";
import { resolveCommand, TRAINING } from "./server";

/** The last non-empty line of an output chunk (progress bars rewrite their line with \r). */
export function lastLine(chunk: string): string | undefined {
  return chunk
    .split(/[\r\n]+/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .pop();
}

export async function finetuneWorkspace(log: Log, controller: ServerController): Promise<void> {
  const folder = workspaceFolder();
  if (!folder) {
    await showError(log, "fine-tuning needs an open folder: File > Open Folder, then run it again");
    return;
  }
  let training;
  try {
    training = resolveCommand(TRAINING, commandSettings("training.command"), localProbe);
  } catch (error) {
    await showError(log, (error as Error).message);
    return;
  }
  const args = [...training.args, "finetune", folder];
  log.info(`fine-tuning: ${training.command} ${args.join(" ")}`);
  const exitCode = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `codegen: fine-tuning on ${folder}`, cancellable: true },
    (progress, token) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(training.command, args, { cwd: folder });
        token.onCancellationRequested(() => child.kill("SIGINT"));
        const onOutput = (data: Buffer) => {
          const text = data.toString();
          log.info(text.trimEnd());
          const line = lastLine(text);
          if (line) {
            progress.report({ message: line });
          }
        };
        child.stdout.on("data", onOutput);
        child.stderr.on("data", onOutput);
        child.on("error", (error) => {
          log.error(`fine-tuning could not start: ${error.message}`);
          resolve(null);
        });
        child.on("close", (code) => resolve(code));
      }),
  );
  if (exitCode !== 0) {
    await showError(log, `fine-tuning failed (exit code ${exitCode}); the previous model stays in service`);
    return;
  }
  await controller.execute("codegen.reloadModel");
  await controller.followModel();
  void vscode.window.showInformationMessage("codegen: fine-tuning finished; the new model is in service");
}
