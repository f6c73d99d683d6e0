/**
 * The picture of a screen view nobody looks at (its session tab or the Sessions page hidden, or
 * the browser tab in the background) is paused: the connection stays open, the device sends
 * nothing. noVNC asks for the next framebuffer update after each one unless continuous updates
 * are on; RelayRFB makes it believe they are while paused. This is the rest, what goes to the
 * agent: continuous updates that were on are stopped (the agent answers with an
 * EndOfContinuousUpdates, which noVNC must not see: it would take it for their end for good and
 * start asking after each update), and on resuming they start again where the agent offers them,
 * with one request for the whole screen so that the picture is current at once.
 */

export type PictureMessage = "stop-continuous" | "start-continuous" | "whole-screen";

export class PausedPicture {
  private pausedNow = false;
  private stopsUnanswered = 0;

  get paused(): boolean {
    return this.pausedNow;
  }

  /** `continuous`: continuous updates are on (before the connection, nothing goes out). */
  pause(connected: boolean, continuous: boolean): PictureMessage[] {
    if (this.pausedNow) return [];
    this.pausedNow = true;
    if (!connected || !continuous) return [];
    this.stopsUnanswered += 1;
    return ["stop-continuous"];
  }

  /** `offered`: the agent offers continuous updates. */
  resume(connected: boolean, offered: boolean): PictureMessage[] {
    if (!this.pausedNow) return [];
    this.pausedNow = false;
    if (!connected) return [];
    return offered ? ["start-continuous", "whole-screen"] : ["whole-screen"];
  }

  /** An EndOfContinuousUpdates arrived: true when it answers a stop sent on pausing. */
  answersStop(): boolean {
    if (this.stopsUnanswered === 0) return false;
    this.stopsUnanswered -= 1;
    return true;
  }
}
