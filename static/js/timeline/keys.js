// Keyboard shortcuts of the timeline, and the help overlay that lists them ("?").

export const SHORTCUTS = [
  ["Space", "Play or pause"],
  ["K or \u2192", "Next scene"],
  ["J or \u2190", "Previous scene"],
  ["1 \u2026 9", "Move the selected scene(s) to storyline 1 \u2026 9"],
  ["0 or Delete", "Take the selected scene(s) out of every storyline"],
  ["Ctrl+Z", "Undo"],
  ["Ctrl+Shift+Z or Ctrl+Y", "Redo"],
  ["+ / \u2212", "Zoom in / out"],
  ["F", "Fit the whole film"],
  ["Shift+click, Ctrl+click", "Select several scenes"],
  ["Drag a scene", "Move it to another storyline"],
  ["Ctrl+wheel, Shift+wheel", "Zoom, scroll the timeline"],
  ["Esc", "Clear the selection, close this help"],
  ["?", "Show this help"],
];

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

/** Bind the shortcuts; `actions` has playPause, next, previous, moveTo(n|null), undo, redo, zoom(f), fit, help, escape. */
export function bindShortcuts(actions) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || typing(event.target) || event.altKey) return;
    const key = event.key;
    const mod = event.ctrlKey || event.metaKey;
    let handled = true;
    if (mod && key.toLowerCase() === "z") {
      if (event.shiftKey) actions.redo();
      else actions.undo();
    } else if (mod && key.toLowerCase() === "y") actions.redo();
    else if (mod) handled = false;
    else if (key === " " && !(event.target instanceof HTMLButtonElement)) actions.playPause();
    else if (key === "k" || key === "K" || key === "ArrowRight") actions.next();
    else if (key === "j" || key === "J" || key === "ArrowLeft") actions.previous();
    else if (/^[1-9]$/.test(key)) actions.moveTo(Number(key));
    else if (key === "0" || key === "Delete" || key === "Backspace") actions.moveTo(null);
    else if (key === "+" || key === "=") actions.zoom(1.5);
    else if (key === "-" || key === "_") actions.zoom(1 / 1.5);
    else if (key === "f" || key === "F") actions.fit();
    else if (key === "?") actions.help();
    else if (key === "Escape") actions.escape();
    else handled = false;
    if (handled) event.preventDefault();
  });
}

export function fillHelp(list) {
  list.replaceChildren(
    ...SHORTCUTS.flatMap(([keys, what]) => {
      const dt = document.createElement("dt");
      for (const [i, part] of keys.split(/( or |, | \/ )/).entries()) {
        if (i % 2) dt.append(part);
        else {
          const kbd = document.createElement("kbd");
          kbd.textContent = part;
          dt.append(kbd);
        }
      }
      const dd = document.createElement("dd");
      dd.textContent = what;
      return [dt, dd];
    }),
  );
}
