/** A device's own jump policy (UNA-6), in its details: it wins over its Jump group's; removing
 * it makes the device follow its group's again. For those who manage devices. */

import { useState } from "preact/hooks";
import { api, call } from "../../api/client";
import { PolicyForm, Summary } from "../../admin/JumpPoliciesPanel";
import { useI18n } from "../../i18n";
import { useLoad } from "../../shared/hooks";

export function DeviceJumpPolicy({ deviceId }: { deviceId: number }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const policies = useLoad(() => call(api.GET("/api/v1/jump-policies")));
  const own = (policies.data ?? []).find((policy) => policy.device_id === deviceId) ?? null;
  return (
    <div class="device-jump-policy" data-testid="device-jump-policy">
      <button
        type="button"
        class="button button-secondary button-small"
        data-testid="device-jump-policy-open"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        {t("jump.device_policy")}
      </button>{" "}
      <span class="muted small">{own ? <Summary policy={own} /> : t("jump.device_policy_group")}</span>
      {open && policies.data && (
        <PolicyForm key={own?.id ?? 0} target={{ device: deviceId }} policy={own} onChanged={policies.reload} />
      )}
    </div>
  );
}
