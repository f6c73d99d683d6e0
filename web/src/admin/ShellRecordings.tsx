/** A session report's shell recordings (TOOL-3, GOV-8): each one replayed in the browser with
 * asciinema-player, and its asciicast and plain-text transcript to download. */

import "./recordings.css";
import { useEffect, useRef } from "preact/hooks";
import type { components } from "../api/schema";
import { isMessageKey, useI18n } from "../i18n";
import { formatDateTime } from "../shared/format";
import { formatBytes } from "../shared/text";
import { Card } from "../shared/ui";

type Recording = components["schemas"]["RecordingOut"];

export function recordingUrls(sessionId: number, recordingId: number): { cast: string; transcript: string } {
  const base = `/api/v1/reports/sessions/${sessionId}/recordings/${recordingId}`;
  return { cast: `${base}/cast`, transcript: `${base}/transcript` };
}

/** In the order the shells were opened (ids follow the order they ended). */
export function byStart(recordings: Recording[]): Recording[] {
  return [...recordings].sort((a, b) => a.started_at.localeCompare(b.started_at) || a.id - b.id);
}

export function ShellRecordings({ sessionId, recordings }: { sessionId: number; recordings: Recording[] }) {
  const { t } = useI18n();
  if (recordings.length === 0) return null;
  return (
    <Card title={t("reports.recordings")} testid="report-recordings">
      <ul class="recording-list">
        {byStart(recordings).map((recording) => (
          <RecordingItem key={recording.id} sessionId={sessionId} recording={recording} />
        ))}
      </ul>
    </Card>
  );
}

function RecordingItem({ sessionId, recording }: { sessionId: number; recording: Recording }) {
  const { t, language } = useI18n();
  const urls = recordingUrls(sessionId, recording.id);
  const kindKey = `reports.recording_kind.${recording.kind}`;
  const kind = isMessageKey(kindKey) ? t(kindKey) : recording.kind;
  return (
    <li class="recording-item" data-testid="report-recording" data-recording-id={recording.id}>
      <div class="recording-head">
        <div>
          <div class="strong">{t("reports.recording_title", { kind, who: recording.opened_by })}</div>
          <div class="muted small">
            {t("reports.recording_meta", {
              start: formatDateTime(recording.started_at, language),
              end: formatDateTime(recording.ended_at, language),
              size: formatBytes(recording.output_bytes, language),
            })}
          </div>
        </div>
        <div class="recording-links">
          <a class="button button-secondary" href={urls.cast} download data-testid="recording-cast">
            {t("reports.recording_cast")}
          </a>
          <a class="button button-secondary" href={urls.transcript} download data-testid="recording-transcript">
            {t("reports.recording_transcript")}
          </a>
        </div>
      </div>
      <Player url={urls.cast} label={t("reports.recording_player")} />
    </li>
  );
}

function Player({ url, label }: { url: string; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    let closed = false;
    let player: { dispose: () => void } | null = null;
    void import("./player").then(({ create }) => {
      if (closed) return;
      player = create({ url, fetchOpts: { credentials: "same-origin" } }, element, {
        preload: true,
        idleTimeLimit: 1,
        fit: "width",
        poster: "npt:0:0",
        theme: "asciinema",
      });
    });
    return () => {
      closed = true;
      player?.dispose();
    };
  }, [url]);
  return <div class="recording-player" ref={box} role="region" aria-label={label} data-testid="recording-player" />;
}
