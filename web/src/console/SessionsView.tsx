/** The sessions the technician runs, as tabs (ATT-4): switch between them, unread chat badges,
 * and for each its workspace (workspace/Workspace.tsx): the screen, shells, files and system
 * information as tool tabs, chat beside them, hold and end (ATT-9). Alt+1…9 and Alt+S/H/F/I
 * switch sessions and tools (workspace/shortcuts.ts).
 *
 * Every open session keeps its workspace mounted, the one in front shown and the others hidden,
 * and so does the whole view while the technician is on another console page: unmounting a
 * workspace would close its tunnels, which ends its shells on the device and cancels its file
 * transfers. Only closing the tab (or ending, holding the session) unmounts it. A hidden
 * workspace's screen view pauses its picture (the connection stays). */

import { useCallback, useEffect, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import { Link } from "../shared/router";
import { Card } from "../shared/ui";
import { useConsole } from "./ConsoleContext";
import { customerName } from "./present";
import { shortcutOf, type Tool } from "./workspace/shortcuts";
import { ShortcutsHelp } from "./workspace/ShortcutsHelp";
import { Workspace } from "./workspace/Workspace";
import "./workspace/workspace.css";

/** `shown`: whether the Sessions page is the one on screen (else the view stays, hidden). */
export function SessionsView({ shown }: { shown: boolean }) {
  const { t } = useI18n();
  const { state, dispatch } = useConsole();
  const [tools, setTools] = useState<Record<number, Tool>>({});
  const front = state.tabs.find((tab) => tab.session.id === state.front) ?? state.tabs[0];
  const frontId = front?.session.id;
  const setTool = useCallback(
    (sessionId: number, tool: Tool) => setTools((now) => (now[sessionId] === tool ? now : { ...now, [sessionId]: tool })),
    [],
  );

  useEffect(() => {
    dispatch({ type: "viewing", sessions: shown });
    return () => dispatch({ type: "viewing", sessions: false });
  }, [dispatch, shown]);

  // The shortcuts, in the capture phase: before the screen view would send them to the device.
  const order = state.tabs.map((tab) => tab.session.id).join(",");
  useEffect(() => {
    if (!shown) return;
    const ids = order ? order.split(",").map(Number) : [];
    const onKey = (event: KeyboardEvent) => {
      const shortcut = shortcutOf(event);
      if (!shortcut) return;
      if (shortcut.kind === "session") {
        const id = ids[shortcut.index];
        if (id === undefined) return;
        dispatch({ type: "focus", sessionId: id });
      } else {
        if (frontId === undefined) return;
        setTool(frontId, shortcut.tool);
      }
      event.preventDefault();
      event.stopPropagation();
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [shown, order, frontId, dispatch, setTool]);

  if (state.tabs.length === 0) {
    if (!shown) return null;
    return (
      <Card testid="sessions-empty">
        <div class="empty-state">
          <p class="empty-title">{t("sessions.none")}</p>
          <p class="muted">{t("sessions.none_about")}</p>
          <Link href="/console/queues" class="button button-secondary">
            {t("sessions.to_queues")}
          </Link>
        </div>
      </Card>
    );
  }
  return (
    <div class="sessions" hidden={!shown}>
      <div class="session-tabs-row">
      <div class="session-tabs" role="tablist" aria-label={t("sessions.tabs")} data-testid="session-tabs">
        {state.tabs.map((tab, index) => {
          const active = tab === front;
          return (
            <button
              key={tab.session.id}
              type="button"
              role="tab"
              aria-selected={active}
              class={active ? "session-tab active" : "session-tab"}
              data-testid="session-tab"
              data-session-id={tab.session.id}
              title={index < 9 ? `Alt+${index + 1}` : undefined}
              onClick={() => dispatch({ type: "focus", sessionId: tab.session.id })}
            >
              <span class={`status-dot status-${tab.session.status === "ended" ? "ended" : tab.online === false ? "offline" : "online"}`} aria-hidden="true" />
              <span class="session-tab-name" dir="auto">
                {customerName(tab.session, t)}
              </span>
              <span class="session-tab-host muted">{tab.session.device.hostname}</span>
              {tab.unread > 0 && (
                <span class="unread" data-testid="session-tab-unread" title={t("sessions.unread", { n: tab.unread })}>
                  {tab.unread}
                </span>
              )}
            </button>
          );
        })}
      </div>
      <ShortcutsHelp />
      </div>
      {state.tabs.map((tab) => (
        <Workspace
          key={tab.session.id}
          tab={tab}
          front={tab === front}
          shown={shown && tab === front}
          tool={tools[tab.session.id] ?? "screen"}
          onTool={(tool) => setTool(tab.session.id, tool)}
        />
      ))}
    </div>
  );
}
