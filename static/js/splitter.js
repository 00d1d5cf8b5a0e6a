// A drag handle that resizes a panel by setting one CSS custom property (in pixels) on a root
// element. Works with the pointer and the keyboard (arrows, Home/End), tells assistive
// technology its value, and remembers the size in localStorage.

const DEFAULTS = { axis: "x", min: 120, max: 2000, step: 16, invert: false, storageKey: null };

export class Splitter {
  /**
   * @param {{handle: HTMLElement, root: HTMLElement, property: string, initial: number,
   *          axis?: "x"|"y", min?: number, max?: number | (() => number), step?: number,
   *          invert?: boolean, storageKey?: string|null, onChange?: (px: number) => void}} options
   *   `invert`: dragging towards the start (left, up) makes the panel bigger (a right panel).
   */
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    const stored = this.options.storageKey ? Number(localStorage.getItem(this.options.storageKey)) : NaN;
    this.set(Number.isFinite(stored) && stored > 0 ? stored : this.options.initial, false);
    this.listeners = [];
    this.bind();
  }

  max() {
    const { max } = this.options;
    return typeof max === "function" ? max() : max;
  }

  clamp(px) {
    return Math.round(Math.max(this.options.min, Math.min(this.max(), px)));
  }

  /** Set the size in pixels (clamped); `save` keeps it for the next visit. */
  set(px, save = true) {
    this.wanted = this.clamp(px);
    this.show(this.wanted);
    if (save && this.options.storageKey) localStorage.setItem(this.options.storageKey, String(this.wanted));
  }

  /** After the window changed size: the size last set, as far as the window allows it now.
   *  A window made small for a moment (or a full-page screenshot, which makes it 1 px high)
   *  shrinks the panel only for that moment. */
  refit() {
    this.show(this.clamp(this.wanted));
  }

  show(size) {
    const { root, property, handle, min, onChange } = this.options;
    this.size = size;
    root.style.setProperty(property, `${size}px`);
    handle.setAttribute("aria-valuenow", String(size));
    handle.setAttribute("aria-valuemin", String(min));
    handle.setAttribute("aria-valuemax", String(Math.round(this.max())));
    onChange?.(size);
  }

  on(target, type, listener) {
    target.addEventListener(type, listener);
    this.listeners.push(() => target.removeEventListener(type, listener));
  }

  bind() {
    const { handle, axis, step, invert } = this.options;
    const sign = invert ? -1 : 1;
    let drag = null;
    this.on(handle, "pointerdown", (event) => {
      if (event.button !== 0) return;
      handle.setPointerCapture(event.pointerId);
      drag = { from: axis === "x" ? event.clientX : event.clientY, size: this.size };
      handle.classList.add("is-dragging");
      event.preventDefault();
    });
    this.on(handle, "pointermove", (event) => {
      if (!drag) return;
      const at = axis === "x" ? event.clientX : event.clientY;
      this.set(drag.size + sign * (at - drag.from));
    });
    const end = () => {
      drag = null;
      handle.classList.remove("is-dragging");
    };
    this.on(handle, "pointerup", end);
    this.on(handle, "pointercancel", end);
    this.on(handle, "keydown", (event) => {
      const back = axis === "x" ? "ArrowLeft" : "ArrowUp";
      const forth = axis === "x" ? "ArrowRight" : "ArrowDown";
      let size = null;
      if (event.key === back) size = this.size - sign * step;
      else if (event.key === forth) size = this.size + sign * step;
      else if (event.key === "Home") size = this.options.min;
      else if (event.key === "End") size = this.max();
      if (size === null) return;
      event.preventDefault();
      event.stopPropagation(); // the page's own shortcuts use the same keys
      this.set(size);
    });
  }

  destroy() {
    for (const off of this.listeners.splice(0)) off();
  }
}
