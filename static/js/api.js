// Talking to the JSON API: CSRF header, JSON bodies, and errors as ApiError with a readable message.

/** An API call that failed; `message` is meant for the user. */
export class ApiError extends Error {
  constructor(message, status = 0, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** This page load's id, sent with every change (`X-Tab-Id`) and echoed by the server in the
 * change's WebSocket announcement: a tab knows its own changes by it, however late they come
 * back. Random hex, since crypto.randomUUID needs a secure context. */
export const TAB_ID = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

/** The CSRF token: Django's cookie, else the one rendered into the page. */
export function csrfToken() {
  return cookie("csrftoken") || document.querySelector('meta[name="csrf-token"]')?.content || "";
}

const FALLBACK_MESSAGES = {
  400: "The request was not accepted.",
  401: "Your session has ended. Log in again.",
  403: "You are not allowed to do this. Try logging in again.",
  404: "This item no longer exists.",
  409: "This conflicts with the current state. Reload and try again.",
  413: "The file is too large.",
  422: "Some values are not valid.",
  429: "Too many requests. Wait a moment and try again.",
};

/** The user-facing message of an error body: `{"detail": "…"}` or a list of validation errors. */
export function errorMessage(status, body) {
  const detail = body && typeof body === "object" ? body.detail : null;
  if (typeof detail === "string" && detail.trim()) return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((item) => (typeof item === "string" ? item : item?.msg || JSON.stringify(item)))
      .join(" ");
  }
  if (status >= 500) return `The server had a problem (${status}). Try again in a moment.`;
  return FALLBACK_MESSAGES[status] || `The request failed (${status || "network error"}).`;
}

function parseBody(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Fetch JSON from the API. Resolves with the parsed body (null for 204), rejects with ApiError.
 * @param {string} url
 * @param {{method?: string, json?: unknown, signal?: AbortSignal}} [options]
 */
export async function apiFetch(url, { method = "GET", json, signal } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", signal };
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRFToken"] = csrfToken();
    headers["X-Tab-Id"] = TAB_ID;
  }
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError("The server cannot be reached. Check the connection and try again.");
  }
  const body = parseBody(await response.text());
  if (!response.ok) throw new ApiError(errorMessage(response.status, body), response.status, body);
  return body;
}

/**
 * Upload one file as multipart `field` with progress events (fetch cannot report upload progress).
 * @param {string} url
 * @param {File} file
 * @param {{field?: string, onProgress?: (loaded: number, total: number) => void, onSent?: () => void}} [options]
 * @returns {{promise: Promise<unknown>, abort: () => void}}
 */
export function uploadFile(url, file, { field = "file", onProgress, onSent } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress?.(event.loaded, event.total);
    };
    xhr.upload.onload = () => onSent?.();
    xhr.onload = () => {
      const body = parseBody(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(errorMessage(xhr.status, body), xhr.status, body));
    };
    xhr.onerror = () =>
      reject(new ApiError("The upload failed: the server cannot be reached or closed the connection."));
    xhr.onabort = () => reject(new ApiError("The upload was cancelled.", 0, { aborted: true }));
    const form = new FormData();
    form.append(field, file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/** Fill `{id}` in a URL template from the page data. */
export function urlFor(template, id) {
  return template.replace("{id}", encodeURIComponent(String(id)));
}

/** Read a `json_script` block. */
export function pageData(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent || "null") : null;
}
