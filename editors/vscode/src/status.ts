// The status bar item: model loading / ready / generating / error / off.
import * as vscode from "vscode";

export type State = "starting" | "loading" | "ready" | "generating" | "off" | "error";

const LOOKS: Record<State, { icon: string; tooltip: string }> = {
  starting: { icon: "$(loading~spin)", tooltip: "starting the server" },
  loading: { icon: "$(loading~spin)", tooltip: "loading the model" },
  ready: { icon: "$(sparkle)", tooltip: "ready" },
  generating: { icon: "$(sync~spin)", tooltip: "generating" },
  off: { icon: "$(circle-slash)", tooltip: "inline completion is off" },
  error: { icon: "$(error)", tooltip: "error" },
};

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  state: State = "starting";
  private pending = 0;

  constructor() {
    this.item.command = "codegen-lsp.showLog";
    this.set("starting");
    this.item.show();
  }

  /** Show `state`; `detail` (model path, error) goes in the tooltip. */
  set(state: State, detail?: string): void {
    this.state = state;
    const look = LOOKS[state];
    this.item.text = `${look.icon} codegen`;
    this.item.tooltip = `codegen: ${look.tooltip}${detail ? `\n${detail}` : ""}\n(click for the log)`;
    this.item.backgroundColor =
      state === "error" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  }

  /** Run `work` showing "generating" while it (and any other such work) runs. */
  async generating<T>(work: () => Thenable<T> | T): Promise<T> {
    const previous = this.state === "generating" ? "ready" : this.state;
    this.pending += 1;
    this.set("generating");
    try {
      return await work();
    } finally {
      this.pending -= 1;
      if (this.pending === 0 && this.state === "generating") {
        this.set(previous);
      }
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
