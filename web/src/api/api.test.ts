import { describe, expect, it } from "vitest";
import { call, send } from "./client";
import { csrfHeader, needsCsrf, readCookie } from "./csrf";
import { ApiError, asApiError, toApiError } from "./errors";

describe("CSRF header", () => {
  const cookies = "theme=dark; relaydesk_csrf=abc%2B123; other=x";

  it("is needed on every method that changes something", () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "post"]) expect(needsCsrf(method)).toBe(true);
    for (const method of ["GET", "HEAD", "OPTIONS", "get"]) expect(needsCsrf(method)).toBe(false);
  });

  it("carries the cookie's value, decoded", () => {
    expect(csrfHeader("POST", cookies)).toEqual(["X-CSRF-Token", "abc+123"]);
    expect(csrfHeader("DELETE", cookies)).toEqual(["X-CSRF-Token", "abc+123"]);
  });

  it("is left out of safe requests", () => {
    expect(csrfHeader("GET", cookies)).toBeNull();
  });

  it("is left out when there is no token (signed out)", () => {
    expect(csrfHeader("POST", "theme=dark")).toBeNull();
    expect(csrfHeader("POST", "")).toBeNull();
    expect(csrfHeader("POST", "relaydesk_csrf=")).toBeNull();
  });

  it("matches the cookie name exactly", () => {
    expect(readCookie("xrelaydesk_csrf=no; relaydesk_csrf=yes", "relaydesk_csrf")).toBe("yes");
    expect(readCookie("relaydesk_csrf_old=no", "relaydesk_csrf")).toBeNull();
  });

  it("keeps a value that is not valid percent-encoding", () => {
    expect(readCookie("relaydesk_csrf=50%zz", "relaydesk_csrf")).toBe("50%zz");
  });
});

describe("toApiError", () => {
  it("reads the server's error body", () => {
    const error = toApiError(409, { detail: "In use.", code: "role_in_use" });
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.detail, error.field]).toEqual([409, "role_in_use", "In use.", null]);
  });

  it("keeps the field the server blamed", () => {
    const error = toApiError(400, { detail: "Bad range.", code: "invalid_ip_range", field: "console_ip_ranges" });
    expect(error.field).toBe("console_ip_ranges");
  });

  it("summarises validation errors and points at the first field", () => {
    const error = toApiError(422, {
      detail: [{ loc: ["body", "retention_days"], msg: "too big", type: "less_than_equal" }],
      message: "retention_days: too big",
      code: "validation_error",
    });
    expect([error.code, error.detail, error.field]).toEqual(["validation_error", "retention_days: too big", "retention_days"]);
  });

  it("builds a message from validation items when there is no summary", () => {
    const error = toApiError(422, { detail: [{ loc: ["body"], msg: "a" }, { loc: ["query", "limit"], msg: "b" }] });
    expect([error.code, error.detail, error.field]).toEqual(["http_422", "a; b", null]);
  });

  it("copes with bodies that are not the server's", () => {
    expect(toApiError(502, "<html>Bad gateway</html>").detail).toBe("<html>Bad gateway</html>");
    expect(toApiError(500, undefined).code).toBe("http_500");
    expect(toApiError(500, { detail: 3 }).detail).toBe("HTTP 500");
  });

  it("calls a thrown failure a network error", () => {
    const error = asApiError(new TypeError("Failed to fetch"));
    expect([error.status, error.code, error.detail]).toEqual([0, "network_error", "Failed to fetch"]);
  });
});

describe("call", () => {
  const answer = (status: number, body: { data?: unknown; error?: unknown }) =>
    Promise.resolve({ ...body, response: new Response(null, { status: status === 204 ? 204 : status }) });

  it("gives the data of a success", async () => {
    await expect(call(answer(200, { data: { id: 1 } }))).resolves.toEqual({ id: 1 });
  });

  it("throws the server's error as an ApiError", async () => {
    await expect(call(answer(401, { error: { detail: "No.", code: "invalid_totp" } }))).rejects.toMatchObject({
      status: 401,
      code: "invalid_totp",
    });
  });

  it("turns a failed fetch into a network error", async () => {
    await expect(call(Promise.reject(new TypeError("offline")))).rejects.toMatchObject({ code: "network_error" });
  });

  it("accepts 204 No Content", async () => {
    await expect(send(answer(204, {}))).resolves.toBeUndefined();
  });
});
