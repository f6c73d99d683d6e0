/** The device's own actions at the top of its details (the device list): "Jump to" (UNA-6),
 * greyed out with the reason when unattended access is off or outside the technician's roles,
 * and the jump password and the device's own jump policy for those who manage devices. Only installed devices are jumped to. */

import { useMe } from "../../shared/session";
import { DeviceJumpPolicy } from "../jump/DeviceJumpPolicy";
import { JumpButton } from "../jump/JumpButton";
import { JumpPasswordForm } from "../jump/JumpPasswordForm";
import "../jump/jump.css";
import type { DeviceDetails } from "./deviceList";

export function DeviceActions({ device }: { device: DeviceDetails }) {
  const me = useMe();
  if (device.kind !== "unattended") return null;
  return (
    <div class="jump-actions">
      <JumpButton deviceId={device.id} hostname={device.nickname || device.hostname} online={device.online} />
      {me.permissions.includes("manage_devices") && (
        <>
          <JumpPasswordForm deviceId={device.id} />
          <DeviceJumpPolicy deviceId={device.id} />
        </>
      )}
    </div>
  );
}
