/** /console: the technician console. Its tools arrive section by section. */

import { useI18n, type MessageKey } from "../i18n";
import { SideLayout } from "../shared/AppShell";
import { useDocumentTitle } from "../shared/hooks";
import { CONSOLE_SECTIONS, type ConsoleSection } from "../shared/routes";
import { useMe } from "../shared/session";
import { Card } from "../shared/ui";

const TITLES: Record<ConsoleSection, MessageKey> = {
  queues: "console.queues",
  sessions: "console.sessions",
  "jump-clients": "console.jump_clients",
  "ad-hoc": "console.ad_hoc",
  reports: "console.reports",
};

const DESCRIPTIONS: Record<ConsoleSection, MessageKey> = {
  queues: "console.queues.about",
  sessions: "console.sessions.about",
  "jump-clients": "console.jump_clients.about",
  "ad-hoc": "console.ad_hoc.about",
  reports: "console.reports.about",
};

export function ConsolePage({ section }: { section: ConsoleSection }) {
  const { t } = useI18n();
  const me = useMe();
  useDocumentTitle(t(TITLES[section]));
  return (
    <SideLayout
      label={t("console.navigation")}
      nav={CONSOLE_SECTIONS.map((key) => ({
        href: `/console/${key}`,
        label: t(TITLES[key]),
        active: key === section,
        testid: `console-nav-${key}`,
      }))}
    >
      <div class="page-header">
        <h1>{t(TITLES[section])}</h1>
        <p class="muted">{t("console.welcome", { name: me.name })}</p>
      </div>
      <Card testid={`console-${section}`}>
        <div class="empty-state">
          <p class="empty-title">{t("console.not_yet")}</p>
          <p class="muted">{t(DESCRIPTIONS[section])}</p>
        </div>
      </Card>
    </SideLayout>
  );
}
