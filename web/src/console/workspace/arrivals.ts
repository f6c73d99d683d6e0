/** A customer's arrival announced (ATT-4): a short tone through WebAudio (no sound file) and, if
 * the technician allowed it in his browser, a desktop notification. Permission is asked only
 * when he presses the console's button, never on its own. */

export type NotificationChoice = "unsupported" | NotificationPermission;

export function notificationChoice(): NotificationChoice {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

export async function askForNotifications(): Promise<NotificationChoice> {
  if (typeof Notification === "undefined") return "unsupported";
  return Notification.requestPermission();
}

let audio: AudioContext | null = null;

/** Two short rising notes (about 0.3 s, quiet). Silently nothing where audio is unavailable or
 * not yet allowed by the browser (before the page had a click). */
export function chime(): void {
  if (typeof AudioContext === "undefined") return;
  try {
    audio ??= new AudioContext();
    const start = audio.currentTime;
    for (const [offset, frequency] of [
      [0, 660],
      [0.14, 880],
    ] as const) {
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.type = "sine";
      tone.frequency.value = frequency;
      volume.gain.setValueAtTime(0.0001, start + offset);
      volume.gain.exponentialRampToValueAtTime(0.15, start + offset + 0.02);
      volume.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
      tone.connect(volume).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.18);
    }
  } catch {
    // No sound is no failure: the toast and the notification still say it.
  }
}

/** A desktop notification, if allowed; clicking it brings the console forward and calls `open`. */
export function notify(title: string, body: string, tag: string, open: () => void): void {
  if (notificationChoice() !== "granted") return;
  try {
    const note = new Notification(title, { body, tag });
    note.onclick = () => {
      window.focus();
      open();
      note.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker; the toast remains.
  }
}
