/** /admin: the organisation's administration. */

import { useI18n, type MessageKey } from "../i18n";
import { SideLayout } from "../shared/AppShell";
import { useDocumentTitle } from "../shared/hooks";
import { ADMIN_SECTIONS, type AdminSection } from "../shared/routes";
import { AuditPanel } from "./AuditPanel";
import { DeviceGroupsPanel } from "./DeviceGroupsPanel";
import { InstallersPanel } from "./InstallersPanel";
import { IssueTypesPanel } from "./IssueTypesPanel";
import { JumpPoliciesPanel } from "./JumpPoliciesPanel";
import { RolesPanel } from "./RolesPanel";
import { SessionReportsPanel } from "./SessionReportsPanel";
import { SettingsPanel } from "./SettingsPanel";
import { TeamsPanel } from "./TeamsPanel";
import { UsersPanel } from "./UsersPanel";

const TITLES: Record<AdminSection, MessageKey> = {
  users: "admin.users",
  teams: "admin.teams",
  roles: "admin.roles",
  "device-groups": "admin.device_groups",
  installers: "admin.installers",
  "jump-policies": "admin.jump_policies",
  "issue-types": "admin.issue_types",
  "session-reports": "admin.session_reports",
  settings: "admin.settings",
  audit: "admin.audit",
};

const PANELS = {
  users: UsersPanel,
  teams: TeamsPanel,
  roles: RolesPanel,
  "device-groups": DeviceGroupsPanel,
  installers: InstallersPanel,
  "jump-policies": JumpPoliciesPanel,
  "issue-types": IssueTypesPanel,
  "session-reports": SessionReportsPanel,
  settings: SettingsPanel,
  audit: AuditPanel,
} satisfies Record<AdminSection, () => unknown>;

export function AdminPage({ section }: { section: AdminSection }) {
  const { t } = useI18n();
  const Panel = PANELS[section];
  useDocumentTitle(t(TITLES[section]));
  return (
    <SideLayout
      label={t("admin.navigation")}
      nav={ADMIN_SECTIONS.map((key) => ({
        href: `/admin/${key}`,
        label: t(TITLES[key]),
        active: key === section,
        testid: `admin-nav-${key}`,
      }))}
    >
      <div class="page-header">
        <h1>{t(TITLES[section])}</h1>
      </div>
      <Panel />
    </SideLayout>
  );
}
