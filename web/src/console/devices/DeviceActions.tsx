/** The device's own actions at the top of its details (the device list): the place for
 * "Jump to" (issue 13, UNA-6), which the jump feature fills in. Nothing yet. */

import type { DeviceDetails } from "./deviceList";

export function DeviceActions(_props: { device: DeviceDetails }) {
  return null;
}
