// Keyboard shortcuts of the timeline, as in editing software (Premiere, Resolve, Avid), and the
// help overlay that lists them ("?").

export const SHORTCUTS = [
  ["Space", "Play or pause"],
  ["L", "Play forward; again: faster (2\u00d7, 4\u00d7, 8\u00d7)"],
  ["J", "Play backward; again: faster"],
  ["K", "Stop (pause)"],
  ["\u2190 / \u2192", "One frame back / forward"],
  ["Shift+\u2190 / Shift+\u2192", "One second back / forward"],
  ["\u2191 / \u2193", "Previous / next scene"],
  ["Home / End", "Start / end of the film"],
  ["I / O", "Mark in / out at the playhead"],
  ["Shift+I / Shift+O", "Go to the in / out mark"],
  ["X", "Clear the in and out marks"],
  ["R / Shift+R", "Next / previous scene to review (unsure storyline, marked ?)"],
  ["C", "Add a cut at the playhead (the scene is split in two)"],
  ["Shift+C", "Remove the cut nearest the playhead (the scenes either side join)"],
  ["M", "Move the cut nearest the playhead to the playhead"],
  ["Drag a cut on the ruler", "Move it"],
  ["1 \u2026 9", "Move the selected scene(s) to storyline 1 \u2026 9"],
  ["0 or Delete", "Take the selected scene(s) out of every storyline"],
  ["Ctrl+Z", "Undo"],
  ["Ctrl+Shift+Z or Ctrl+Y", "Redo"],
  ["+ / \u2212", "Zoom in / out"],
  ["F", "Fit the whole film"],
  ["Click a scene", "Select it and put the playhead at its start"],
  ["Shift+click, Ctrl+click", "Select several scenes"],
  ["Drag a scene", "Move it to another storyline"],
  ["Ctrl+wheel, Shift+wheel", "Zoom, scroll the timeline"],
  ["Esc", "Clear the selection, close this help"],
  ["?", "Show this help"],
];

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

/** Keys that work the same with or without Shift, looked up by `event.key` (lower case). */
function plainAction(actions, key, shift) {
  const table = {
    " ": actions.playPause,
    l: () => actions.shuttle(1),
    j: () => actions.shuttle(-1),
    k: actions.stop,
    arrowright: () => actions.stepTime(shift ? 1 : 0, 1),
    arrowleft: () => actions.stepTime(shift ? 1 : 0, -1),
    arrowdown: () => actions.scene(1),
    arrowup: () => actions.scene(-1),
    home: () => actions.goTo(0),
    end: () => actions.goTo(Infinity),
    i: () => (shift ? actions.goToMark("in") : actions.mark("in")),
    o: () => (shift ? actions.goToMark("out") : actions.mark("out")),
    x: actions.clearMarks,
    c: () => (shift ? actions.removeCut() : actions.addCut()),
    m: actions.moveCut,
    r: () => actions.review(shift ? -1 : 1),
    0: () => actions.moveTo(null),
    delete: () => actions.moveTo(null),
    backspace: () => actions.moveTo(null),
    "+": () => actions.zoom(1.5),
    "=": () => actions.zoom(1.5),
    "-": () => actions.zoom(1 / 1.5),
    _: () => actions.zoom(1 / 1.5),
    f: actions.fit,
    "?": actions.help,
    escape: actions.escape,
  };
  if (/^[1-9]$/.test(key)) return () => actions.moveTo(Number(key));
  return table[key.toLowerCase()] || null;
}

/**
 * Bind the shortcuts. `actions`: playPause, shuttle(direction), stop, stepTime(unit 0 = frame
 * or 1 = second, direction), scene(direction), goTo(seconds), mark("in"|"out"),
 * goToMark("in"|"out"), clearMarks, moveTo(n|null), review(direction), undo, redo, addCut,
 * removeCut, moveCut, zoom(f), fit, help, escape.
 */
export function bindShortcuts(actions) {
  const handler = (event) => {
    if (event.defaultPrevented || typing(event.target) || event.altKey) return;
    const key = event.key;
    const mod = event.ctrlKey || event.metaKey;
    let run = null;
    if (mod && key.toLowerCase() === "z") run = event.shiftKey ? actions.redo : actions.undo;
    else if (mod && key.toLowerCase() === "y") run = actions.redo;
    else if (!mod && !(key === " " && event.target instanceof HTMLButtonElement)) run = plainAction(actions, key, event.shiftKey);
    if (!run) return;
    event.preventDefault();
    run();
  };
  document.addEventListener("keydown", handler);
  return () => document.removeEventListener("keydown", handler);
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
