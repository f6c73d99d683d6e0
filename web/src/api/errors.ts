/** Failures of the HTTP API as the app sees them: one shape whatever the server sent. */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  /** The request field the server blamed, when it named one. */
  readonly field: string | null;

  constructor(status: number, code: string, detail: string, field: string | null = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.field = field;
  }
}

type ValidationItem = { loc?: unknown; msg?: unknown };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The field a validation item points at: the last name in `loc` after "body"/"query". */
function fieldOf(item: ValidationItem): string | null {
  if (!Array.isArray(item.loc)) return null;
  const names = item.loc.filter((part): part is string => typeof part === "string");
  const last = names[names.length - 1];
  return last && last !== "body" && last !== "query" ? last : null;
}

/**
 * Turns an error response into an ApiError. The server answers
 * `{detail, code, field?}`, or for validation `{detail: [{loc, msg}], message, code}`;
 * anything else (a proxy's HTML page, an empty body) still gives a usable error.
 */
export function toApiError(status: number, body: unknown): ApiError {
  const fallbackCode = status === 0 ? "network_error" : `http_${status}`;
  if (!isRecord(body)) {
    const text = typeof body === "string" && body.trim() ? body.trim() : `HTTP ${status}`;
    return new ApiError(status, fallbackCode, text);
  }
  const code = typeof body.code === "string" && body.code ? body.code : fallbackCode;
  if (Array.isArray(body.detail)) {
    const items = body.detail.filter(isRecord) as ValidationItem[];
    const first = items[0];
    const message =
      typeof body.message === "string" && body.message
        ? body.message
        : items.map((item) => String(item.msg ?? "")).filter(Boolean).join("; ") || `HTTP ${status}`;
    return new ApiError(status, code, message, first ? fieldOf(first) : null);
  }
  const detail = typeof body.detail === "string" && body.detail ? body.detail : `HTTP ${status}`;
  const field = typeof body.field === "string" && body.field ? body.field : null;
  return new ApiError(status, code, detail, field);
}

/** Any thrown value as an ApiError (a failed fetch becomes status 0, code "network_error"). */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const detail = error instanceof Error && error.message ? error.message : String(error);
  return new ApiError(0, "network_error", detail);
}
