/** The session's tools, as the workspace's tabs show them. */

import type { MessageKey } from "../../i18n";
import type { Tool } from "./shortcuts";

export const TOOL_LABELS: Record<Tool, MessageKey> = {
  screen: "workspace.tool.screen",
  shells: "workspace.tool.shells",
  files: "workspace.tool.files",
  sysinfo: "workspace.tool.sysinfo",
};
