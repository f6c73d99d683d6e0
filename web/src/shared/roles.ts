/** The built-in roles' names and descriptions in the user's language. The server stores them in
 * English (permissions.py BUILTIN_ROLES; tests/unit/test_builtin_roles_catalogue.py keeps en.ts
 * equal to it); one an administrator renamed or reworded is shown as he wrote it. */

import { translator, type MessageKey, type Translate } from "../i18n";

const BUILTIN_ROLES = ["administrator", "helpdesk_operator", "viewer"] as const;
const english = translator("en");

function builtinKey(text: string, part: "name" | "description"): MessageKey | null {
  for (const role of BUILTIN_ROLES) {
    const key = `role.${role}.${part}` as const;
    if (english(key) === text) return key;
  }
  return null;
}

export function roleName(name: string, t: Translate): string {
  const key = builtinKey(name, "name");
  return key ? t(key) : name;
}

export function roleDescription(description: string, t: Translate): string {
  const key = builtinKey(description, "description");
  return key ? t(key) : description;
}
