/** Transfer progress: rate over the last seconds and the time left. Pure; time in ms. */

const WINDOW_MS = 4000;

export class RateMeter {
  private samples: [number, number][] = [];

  /** `bytes` is the running total at time `at`. */
  add(at: number, bytes: number): void {
    this.samples.push([at, bytes]);
    while (this.samples.length > 2 && at - this.samples[1][0] >= WINDOW_MS) this.samples.shift();
  }

  /** Bytes per second over the window; null until there is something to measure. */
  rate(): number | null {
    if (this.samples.length < 2) return null;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    if (t1 - t0 < 200) return null;
    return Math.max(0, ((b1 - b0) * 1000) / (t1 - t0));
  }

  reset(): void {
    this.samples = [];
  }
}

/** Seconds left at this rate, or null when unknown (no size, no rate yet, nothing moving). */
export function secondsLeft(done: number, total: number | null, rate: number | null): number | null {
  if (total === null || rate === null || rate <= 0) return null;
  return Math.max(0, (total - done) / rate);
}

/** Reconnection delays in ms after a network loss: quick, then every few seconds. */
export function retryDelay(attempt: number): number {
  const delays = [250, 500, 1000, 2000, 3000];
  return delays[Math.min(attempt, delays.length - 1)];
}
