/** The chat of a session (TOOL-6), the same for the technician and the customer: any script,
 * each message in its own writing direction. */

import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatMessage } from "../api/client";
import { type Translate, useI18n } from "../i18n";
import { formatTime, textDirection } from "./text";
import { ErrorNotice } from "./ui";

export const MAX_CHAT_LENGTH = 4000;

type Side = ChatMessage["sender"];

export function Chat({
  messages,
  own,
  onSend,
  closed,
  emptyText,
}: {
  messages: readonly ChatMessage[];
  /** Whose messages are "mine" (shown on the other side). */
  own: Side;
  onSend: (text: string) => Promise<void>;
  /** Why nobody can write now (the session ended, not started…); null when open. */
  closed?: string | null;
  emptyText?: string;
}) {
  const { t } = useI18n();
  const [draft, setDraft] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const send = async () => {
    const text = draft.trim();
    if (!text || sending) return;
    setSending(true);
    setError(null);
    try {
      await onSend(text);
      setDraft("");
    } catch (failure) {
      setError(failure);
    } finally {
      setSending(false);
    }
  };

  return (
    <div class="chat">
      <ChatLog messages={messages} own={own} emptyText={emptyText} />
      {closed ? (
        <p class="chat-closed muted" data-testid="chat-closed">
          {closed}
        </p>
      ) : (
        <form
          class="chat-form"
          onSubmit={(event) => {
            event.preventDefault();
            void send();
          }}
        >
          <textarea
            rows={2}
            dir="auto"
            maxLength={MAX_CHAT_LENGTH}
            value={draft}
            placeholder={t("chat.placeholder")}
            aria-label={t("chat.placeholder")}
            data-testid="chat-input"
            onInput={(event) => setDraft(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
                event.preventDefault();
                void send();
              }
            }}
          />
          <button type="submit" class="button button-primary" disabled={sending || !draft.trim()} data-testid="chat-send">
            {t("chat.send")}
          </button>
        </form>
      )}
      <ErrorNotice error={error} testid="chat-error" />
    </div>
  );
}

/** Who wrote a message, as the reader reads it: the server names a customer who gave no name
 * "Customer" (session_chat.py), which is said in the reader's language; any other name stays. */
export function senderName(message: Pick<ChatMessage, "sender" | "sender_name">, t: Translate): string {
  return message.sender === "customer" && message.sender_name === "Customer" ? t("session.customer") : message.sender_name;
}

/** The messages, oldest first, kept scrolled to the newest. */
export function ChatLog({
  messages,
  own,
  emptyText,
  testid = "chat-log",
}: {
  messages: readonly ChatMessage[];
  own: Side;
  emptyText?: string | undefined;
  testid?: string;
}) {
  const { t, language } = useI18n();
  const log = useRef<HTMLDivElement>(null);
  // A log that is not laid out (a hidden session tab) cannot scroll: it catches up when shown.
  const behind = useRef(false);

  useEffect(() => {
    const element = log.current;
    if (!element) return;
    element.scrollTop = element.scrollHeight;
    behind.current = element.clientHeight === 0;
  }, [messages.length]);

  useEffect(() => {
    const element = log.current;
    if (!element || typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver(() => {
      if (!behind.current || element.clientHeight === 0) return;
      behind.current = false;
      element.scrollTop = element.scrollHeight;
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  return (
    <div class="chat-log" ref={log} data-testid={testid} aria-live="polite">
      {messages.length === 0 && <p class="chat-empty muted">{emptyText ?? t("chat.empty")}</p>}
      {messages.map((message) => {
        const side = message.sender === "system" ? "system" : message.sender === own ? "own" : "other";
        return (
          <div key={message.id} class={`chat-message chat-${side}`} data-testid="chat-message" data-sender={message.sender}>
            {side !== "system" && (
              <span class="chat-meta">
                <span class="chat-sender" dir="auto">
                  {senderName(message, t)}
                </span>
                <time dateTime={message.at}>{formatTime(message.at, language)}</time>
              </span>
            )}
            <p class="chat-text" dir={textDirection(message.text)} data-testid="chat-text">
              {message.text}
            </p>
          </div>
        );
      })}
    </div>
  );
}
