/** The typed client of the relaydesk REST API (generated types in schema.d.ts). */

import createClient, { type Middleware } from "openapi-fetch";
import { csrfHeader } from "./csrf";
import { asApiError, toApiError } from "./errors";
import type { components, paths } from "./schema";

export { ApiError } from "./errors";

type Schemas = components["schemas"];
export type Me = Schemas["Me"];
export type SignInState = Schemas["SignInState"];
export type SignInStage = SignInState["stage"];
export type TotpSetup = Schemas["TotpSetup"];
export type ApiToken = Schemas["ApiTokenOut"];
export type User = Schemas["UserOut"];
export type UserCreate = Schemas["UserCreate"];
export type RoleAssignment = Schemas["RoleAssignmentOut"];
export type Team = Schemas["TeamOut"];
export type Role = Schemas["RoleOut"];
export type Permission = Schemas["PermissionOut"];
export type DeviceGroup = Schemas["DeviceGroupOut"];
export type Installer = Schemas["InstallerOut"];
export type InstallerIssued = Schemas["InstallerIssued"];
export type OrganisationSettings = Schemas["OrganisationSettings"];
export type OrganisationSettingsUpdate = Schemas["OrganisationSettingsUpdate"];
export type AuditEntry = Schemas["AuditEntryOut"];
export type SupportSession = Schemas["SessionOut"];
export type SessionStatus = SupportSession["status"];
export type ScreenState = SupportSession["screen_state"];
export type ScreenMode = Schemas["ScreenRequest"]["mode"];
export type Queue = Schemas["QueueOut"];
export type TeamQueue = Schemas["TeamQueue"];
export type SessionDetail = Schemas["SessionDetail"];
export type ChatMessage = Schemas["ChatMessageOut"];
export type Portal = Schemas["PortalOut"];
export type SessionKeyIssued = Schemas["SessionKeyIssued"];
export type ValidityMinutes = NonNullable<Schemas["SessionKeyCreate"]["validity_minutes"]>;
export type PortalFront = Schemas["PortalFrontOut"];
export type Technician = Schemas["TechnicianOut"];
export type CustomerStart = Schemas["CustomerStartOut"];
export type CustomerSession = Schemas["CustomerSessionOut"];
export type CustomerStatus = CustomerSession["status"];
export type AgentCommands = Schemas["AgentCommands"];
export type IssueType = Schemas["IssueTypeOut"];
export type SessionReport = Schemas["SessionReport"];
export type SessionEvent = Schemas["SessionEventOut"];

const csrf: Middleware = {
  onRequest({ request }) {
    const header = csrfHeader(request.method, document.cookie);
    if (header) request.headers.set(header[0], header[1]);
    return request;
  },
};

/** Fired when the server says the browser's sign-in is gone (expired, signed out elsewhere). */
export const SESSION_LOST = "relaydesk:session-lost";

const sessionWatch: Middleware = {
  async onResponse({ response }) {
    if (response.status !== 401) return undefined;
    const body: unknown = await response
      .clone()
      .json()
      .catch(() => null);
    const code = typeof body === "object" && body !== null ? (body as { code?: unknown }).code : null;
    if (code === "not_signed_in") window.dispatchEvent(new Event(SESSION_LOST));
    return undefined;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(csrf, sessionWatch);

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The data of a successful answer; any failure (HTTP or network) as a thrown ApiError. */
export async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (error) {
    throw asApiError(error);
  }
  if (!answer.response.ok || answer.error !== undefined) {
    throw toApiError(answer.response.status, answer.error);
  }
  return answer.data as T;
}

/** For requests answered with 204 No Content. */
export async function send(request: Promise<Answer<unknown>>): Promise<void> {
  await call(request);
}
