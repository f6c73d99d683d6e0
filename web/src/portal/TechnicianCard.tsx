/** Who helps (ATT-10, GOV-6): picture, name, title, company and the verified domain. */

import type { Technician } from "../api/client";
import { useI18n } from "../i18n";
import { initials } from "../shared/AppShell";

export function TechnicianCard({ technician, compact }: { technician: Technician; compact?: boolean }) {
  const { t } = useI18n();
  const role = [technician.title, technician.company].filter(Boolean).join(" · ");
  return (
    <span class={compact ? "technician technician-compact" : "technician"} data-testid="technician-card">
      {technician.picture ? (
        <img class="technician-picture" src={technician.picture} alt="" data-testid="technician-picture" />
      ) : (
        <span class="technician-picture technician-initials" aria-hidden="true">
          {initials(technician.name)}
        </span>
      )}
      <span class="technician-text">
        <span class="technician-name" dir="auto" data-testid="technician-name">
          {technician.name}
        </span>
        {role && (
          <span class="technician-role muted" dir="auto" data-testid="technician-role">
            {role}
          </span>
        )}
        {technician.verified_domain && (
          <span class="verified" data-testid="technician-verified-domain" title={t("portal.verified_about")}>
            <span class="verified-mark" aria-hidden="true">
              ✓
            </span>
            {t("portal.verified", { domain: technician.verified_domain })}
          </span>
        )}
      </span>
    </span>
  );
}
