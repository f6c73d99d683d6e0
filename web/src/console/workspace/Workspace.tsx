/** One session's workspace, laid out as help desk consoles are (TOOL-5): a compact header
 * (customer, device, state, hold and end), the session's tools as tabs filling the work area
 * (Screen, Shells, Files, System information) and the chat in a side panel beside every tool.
 *
 * Every tool stays mounted while the session is open, the chosen one shown: unmounting would
 * close its tunnels (shells end on the device, transfers stop). The area's height follows the
 * window, so the screen view scales into it without the page scrolling. */

import { useCallback, useEffect, useRef } from "preact/hooks";
import { useI18n } from "../../i18n";
import { Chat } from "../../shared/Chat";
import { useAction } from "../../shared/hooks";
import { useMe } from "../../shared/session";
import { Badge, ConfirmButton, ErrorNotice } from "../../shared/ui";
import { useConsole } from "../ConsoleContext";
import { FilesPanel } from "../files/FilesPanel";
import { customerName, deviceLabel, issueLine } from "../present";
import { ScreenPanel } from "../screen/ScreenPanel";
import { ShellPanel } from "../shell/ShellPanel";
import type { OpenSession } from "../store";
import { SysinfoPanel } from "../SysinfoPanel";
import { TOOL_LETTERS, TOOLS, type Tool } from "./shortcuts";
import { TOOL_LABELS } from "./tools";
import { useFillViewport } from "./useFillViewport";
import { InstallJumpClient } from "./InstallJumpClient";

/** `front`: the tab in front; `shown`: in front and the Sessions page on screen; `tool`, `onTool`:
 * the tool on show and the choice of another (kept by the sessions view, for the shortcuts). */
export function Workspace({
  tab,
  front,
  shown,
  tool,
  onTool,
}: {
  tab: OpenSession;
  front: boolean;
  shown: boolean;
  tool: Tool;
  onTool: (tool: Tool) => void;
}) {
  const { t } = useI18n();
  const ops = useConsole();
  const action = useAction();
  const me = useMe();
  const area = useRef<HTMLDivElement>(null);
  const session = tab.session;
  const ended = session.status === "ended";
  const active = session.status === "active";
  const { dispatch } = ops;
  // The screen panel's own answers keep the tab current; the customer's come on the console
  // WebSocket (session.screen).
  const screenChanged = useCallback(
    (changed: OpenSession["session"]) => dispatch({ type: "session", session: changed }),
    [dispatch],
  );
  useFillViewport(area, shown);
  // Only an active session has the screen, shells and files (each as the technician's rights
  // allow); otherwise its information.
  const may = (each: Tool) =>
    each === "shells"
      ? me.permissions.includes("shell")
      : each === "files"
        ? me.permissions.includes("file_upload") || me.permissions.includes("file_download")
        : true;
  // A jump's tools wait until the user on the device allowed it (UNA-6).
  const jump = session.kind === "jump";
  const working = active && !(jump && session.jump_state !== "allowed");
  const tools: readonly Tool[] = working ? TOOLS.filter(may) : ["sysinfo"];
  const onShow = tools.includes(tool) ? tool : tools[0];
  useEffect(() => {
    if (onShow !== tool) onTool(onShow);
  }, [onShow, tool, onTool]);

  const run = (work: () => Promise<void>) => void action.run(work);

  let chatClosed: string | null = null;
  if (ended) chatClosed = t("chat.ended");
  else if (!active) chatClosed = t("chat.not_owner");

  return (
    <div class="workspace" hidden={!front} data-testid="session-workspace" data-session-id={session.id} data-tool={onShow}>
      <header class="workspace-bar">
        <h2 class="workspace-customer" dir="auto" data-testid="workspace-customer">
          {customerName(session, t)}
        </h2>
        <span class="muted workspace-device" data-testid="workspace-device" title={deviceLabel(session)}>
          {deviceLabel(session)}
          {session.device.username && ` · ${session.device.username}`}
        </span>
        {issueLine(session) && (
          <span class="muted workspace-device" dir="auto" title={issueLine(session)} data-testid="workspace-issue">
            {issueLine(session)}
          </span>
        )}
        <SessionStatus tab={tab} />
        <div class="workspace-actions">
          {!jump && me.permissions.includes("manage_devices") && (
            <InstallJumpClient sessionId={session.id} hostname={session.device.hostname} live={active} />
          )}
          {active && (
            <>
              <button
                type="button"
                class="button button-secondary button-small"
                disabled={action.busy}
                data-testid="session-hold"
                title={t("session.hold_about")}
                onClick={() => run(() => ops.hold(session.id))}
              >
                {t("session.hold")}
              </button>
              <ConfirmButton
                label={t("session.end")}
                question={t("session.end_question")}
                testid="session-end"
                disabled={action.busy}
                onConfirm={() => run(() => ops.end(session.id))}
              />
            </>
          )}
          {!active && (
            <button
              type="button"
              class="button button-secondary button-small"
              data-testid="session-close-tab"
              onClick={() => ops.dispatch({ type: "close", sessionId: session.id })}
            >
              {t("session.close_tab")}
            </button>
          )}
        </div>
      </header>
      {ended && (
        <p class="notice notice-info" role="status" data-testid="session-ended">
          {t("session.ended_notice", { by: session.ended_by || "—" })}
        </p>
      )}
      {session.status === "held" && (
        <p class="notice notice-info" role="status">
          {t("session.held_notice")}
        </p>
      )}
      {jump && active && session.jump_state === "asking" && (
        <p class="notice notice-info" role="status" data-testid="jump-asking">
          {t("jump.asking", { host: session.device.hostname })}
        </p>
      )}
      <ErrorNotice error={action.error} />

      <div class="workspace-area" ref={area}>
        <div class="workspace-tools">
          <div class="tool-tabs" role="tablist" aria-label={t("workspace.tools")} data-testid="tool-tabs">
            {tools.map((each) => (
              <button
                key={each}
                type="button"
                role="tab"
                aria-selected={each === onShow}
                class={each === onShow ? "tool-tab active" : "tool-tab"}
                data-testid="tool-tab"
                data-tool={each}
                title={`Alt+${TOOL_LETTERS[each]}`}
                onClick={() => onTool(each)}
              >
                {t(TOOL_LABELS[each])}
              </button>
            ))}
          </div>
          {working && (
            <div class="tool-pane tool-pane-screen" hidden={onShow !== "screen"} role="tabpanel">
              {jump && session.jump_desktop === "none" ? (
                <p class="notice notice-info" role="status" data-testid="jump-no-desktop">
                  {t("jump.no_desktop")}
                </p>
              ) : (
                <ScreenPanel sessionId={session.id} session={session} shown={shown && onShow === "screen"} onSession={screenChanged} />
              )}
            </div>
          )}
          {working && (
            <div class="tool-pane" hidden={onShow !== "shells"} role="tabpanel">
              <ShellPanel sessionId={session.id} live={tab.online !== false} />
            </div>
          )}
          {working && (
            <div class="tool-pane" hidden={onShow !== "files"} role="tabpanel">
              <FilesPanel sessionId={session.id} live={tab.online !== false} />
            </div>
          )}
          <div class="tool-pane" hidden={onShow !== "sysinfo"} role="tabpanel">
            <SysinfoPanel tab={tab} />
          </div>
        </div>
        <aside class="workspace-side">
          {jump ? (
            <p class="notice notice-info" role="status" data-testid="jump-no-chat">
              {t("jump.no_chat")}
            </p>
          ) : tab.chatEnabled ? (
            <section class="card chat-card" data-testid="session-chat">
              <header class="card-header">
                <h2>{t("chat.title")}</h2>
              </header>
              <Chat
                messages={tab.chat}
                own="technician"
                closed={chatClosed}
                emptyText={t("chat.empty_technician")}
                onSend={(text) => ops.sendChat(session.id, text)}
              />
            </section>
          ) : (
            <p class="notice notice-info" role="status" data-testid="chat-disabled">
              {t("chat.disabled")}
            </p>
          )}
        </aside>
      </div>
    </div>
  );
}

function SessionStatus({ tab }: { tab: OpenSession }) {
  const { t } = useI18n();
  const status = tab.session.status;
  if (status !== "active") {
    return (
      <span data-testid="workspace-status">
        <Badge tone={status === "ended" ? "bad" : "accent"}>{t(`session.status.${status}`)}</Badge>
      </span>
    );
  }
  return (
    <span data-testid="workspace-status">
      {tab.online === null ? (
        <Badge tone="neutral">{t("session.agent_unknown")}</Badge>
      ) : tab.online ? (
        <Badge tone="good">{t("session.online")}</Badge>
      ) : (
        <Badge tone="bad">{t("session.offline")}</Badge>
      )}
    </span>
  );
}
