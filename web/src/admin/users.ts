/** Rules of the user administration that need no browser. */

import type { RoleAssignment, Team } from "../api/client";

/** The largest picture file the server accepts. */
export const MAX_PICTURE_BYTES = 256 * 1024;

/** The teams whose member list must change so that the user is in exactly `wanted`. */
export function teamChanges(
  teams: Team[],
  userId: number,
  wanted: ReadonlySet<number>,
): { id: number; member_ids: number[] }[] {
  const changes: { id: number; member_ids: number[] }[] = [];
  for (const team of teams) {
    const member = team.member_ids.includes(userId);
    if (member && !wanted.has(team.id)) {
      changes.push({ id: team.id, member_ids: team.member_ids.filter((id) => id !== userId) });
    } else if (!member && wanted.has(team.id)) {
      changes.push({ id: team.id, member_ids: [...team.member_ids, userId] });
    }
  }
  return changes;
}

/** Device-group names of a scoped assignment, in the order of the assignment. */
export function scopeGroupNames(assignment: RoleAssignment, groups: { id: number; name: string }[]): string[] {
  const names = new Map(groups.map((group) => [group.id, group.name]));
  return assignment.device_group_ids.map((id) => names.get(id) ?? `#${id}`);
}

export function readPicture(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error("read failed"));
    reader.readAsDataURL(file);
  });
}
