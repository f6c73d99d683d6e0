/** How the page presents a secret (the portal's customer secret, a tunnel's one-time token) to
 * a WebSocket: as a subprotocol it offers, never in the URL, which proxies and logs keep. The
 * plain subprotocol is the one the server answers with (browsers refuse a handshake answering
 * none of those offered). Mirrors relaydesk.protocol.bearer. */

export const PLAIN_PROTOCOL = "relaydesk";
export const BEARER_PREFIX = "relaydesk.bearer.";

export function bearerProtocols(secret: string, plain: string = PLAIN_PROTOCOL): string[] {
  return [plain, `${BEARER_PREFIX}${secret}`];
}
