// Short confirmations at the bottom of the screen, read out by screen readers, with an optional
// action button (e.g. "Undo").

const DEFAULT_MS = 5000;
const ACTION_MS = 10000; // time enough to reach for the action (e.g. "Undo")

export class Toaster {
  constructor(container) {
    this.container = container;
  }

  /**
   * @param {string} text
   * @param {{kind?: "ok"|"error"|"info", action?: {label: string, run: Function}, ms?: number}} [options]
   */
  show(text, { kind = "ok", action, ms = action ? ACTION_MS : DEFAULT_MS } = {}) {
    const toast = document.createElement("div");
    toast.className = `toast toast--${kind}`;
    toast.dataset.testid = "toast";
    toast.setAttribute("role", kind === "error" ? "alert" : "status");
    const message = document.createElement("span");
    message.textContent = text;
    toast.append(message);
    if (action) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "toast__action";
      button.textContent = action.label;
      button.addEventListener("click", () => {
        toast.remove();
        action.run();
      });
      toast.append(button);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast__close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", () => toast.remove());
    toast.append(close);
    this.container.append(toast);
    while (this.container.children.length > 4) this.container.firstElementChild.remove();
    setTimeout(() => toast.remove(), kind === "error" ? ms * 2 : ms);
    return toast;
  }
}
