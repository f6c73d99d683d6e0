/** Organisation settings ⇄ the form that edits them. */

import type { OrganisationSettings, OrganisationSettingsUpdate } from "../api/client";
import { lines } from "../shared/format";

export type SettingsForm = {
  name: string;
  remote_support_enabled: boolean;
  allow_unmanaged_devices: boolean;
  chat_disabled: boolean;
  recording_enabled: boolean;
  mfa_required: boolean;
  unattended_access_enabled: boolean;
  adhoc_limit_per_user: string;
  adhoc_limit_per_organisation: string;
  access_password_min_length: string;
  /** The licence's count of devices; "0": unlimited. */
  device_seats: string;
  retention_days: string;
  /** One CIDR range per line. */
  console_ip_ranges: string;
};

export const NUMBER_FIELDS = [
  "adhoc_limit_per_user",
  "adhoc_limit_per_organisation",
  "access_password_min_length",
  "device_seats",
  "retention_days",
] as const;

export function toForm(settings: OrganisationSettings): SettingsForm {
  return {
    name: settings.name,
    remote_support_enabled: settings.remote_support_enabled,
    allow_unmanaged_devices: settings.allow_unmanaged_devices,
    chat_disabled: settings.chat_disabled,
    recording_enabled: settings.recording_enabled,
    mfa_required: settings.mfa_required,
    unattended_access_enabled: settings.unattended_access_enabled,
    adhoc_limit_per_user: String(settings.adhoc_limit_per_user),
    adhoc_limit_per_organisation: String(settings.adhoc_limit_per_organisation),
    access_password_min_length: String(settings.access_password_min_length),
    device_seats: String(settings.device_seats ?? 0),
    retention_days: String(settings.retention_days),
    console_ip_ranges: settings.console_ip_ranges.join("\n"),
  };
}

export type SettingsUpdate =
  | { ok: true; update: OrganisationSettingsUpdate }
  /** Fields that are not whole numbers; the server checks the ranges. */
  | { ok: false; invalid: (typeof NUMBER_FIELDS)[number][] };

export function toUpdate(form: SettingsForm): SettingsUpdate {
  const invalid = NUMBER_FIELDS.filter((field) => !/^\d+$/.test(form[field].trim()));
  if (invalid.length) return { ok: false, invalid };
  return {
    ok: true,
    update: {
      name: form.name.trim(),
      remote_support_enabled: form.remote_support_enabled,
      allow_unmanaged_devices: form.allow_unmanaged_devices,
      chat_disabled: form.chat_disabled,
      recording_enabled: form.recording_enabled,
      mfa_required: form.mfa_required,
      unattended_access_enabled: form.unattended_access_enabled,
      adhoc_limit_per_user: Number(form.adhoc_limit_per_user.trim()),
      adhoc_limit_per_organisation: Number(form.adhoc_limit_per_organisation.trim()),
      access_password_min_length: Number(form.access_password_min_length.trim()),
      device_seats: Number(form.device_seats.trim()),
      retention_days: Number(form.retention_days.trim()),
      console_ip_ranges: lines(form.console_ip_ranges),
    },
  };
}
