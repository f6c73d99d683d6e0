import { describe, expect, it } from "vitest";
import type { FilesConnection } from "./connection";
import { decodeReply, MAX_PAYLOAD_BYTES, type Reply, type Request } from "./protocol";
import { Sha256 } from "./sha256";
import { DownloadTransfer, UploadTransfer, type Transfer } from "./transfer";

/** What a transfer sees of the connection, recording what it sends. */
class FakeConnection {
  sent: { id: number; request: Request }[] = [];
  data: { id: number; payload: Uint8Array }[] = [];
  streams = new Map<number, Transfer>();
  connected = true;
  private next = 1;
  buffered = 0;
  /** After this many data frames the browser's queue looks full (the upload waits). */
  stallAfter = Infinity;

  newId() {
    return this.next++;
  }
  attach(id: number, stream: Transfer) {
    this.streams.set(id, stream);
  }
  detach(id: number) {
    this.streams.delete(id);
  }
  send(id: number, request: Request) {
    if (!this.connected) throw new Error("not connected");
    this.sent.push({ id, request });
  }
  sendData(id: number, payload: Uint8Array) {
    if (!this.connected) throw new Error("not connected");
    this.data.push({ id, payload: payload.slice() });
    if (this.data.length >= this.stallAfter) this.buffered = 64 * 1024 * 1024;
  }
  last(t: Request["t"]) {
    return [...this.sent].reverse().find((item) => item.request.t === t);
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const hexOf = (bytes: Uint8Array) => new Sha256().update(bytes).hex();

function bytes(size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

async function until(check: () => boolean) {
  for (let i = 0; i < 200 && !check(); i++) await settle();
  expect(check()).toBe(true);
}

describe("uploads", () => {
  it("sends the file in frames, then its SHA-256, and is done when the device agrees", async () => {
    const content = bytes(2 * MAX_PAYLOAD_BYTES + 5);
    const fake = new FakeConnection();
    const upload = new UploadTransfer(fake as unknown as FilesConnection, new Blob([content]), "a.bin", "/d/a.bin", false, () => {});
    upload.start();
    const { id, request } = fake.last("upload")!;
    expect(request).toEqual({ t: "upload", path: "/d/a.bin", size: content.length, offset: 0, overwrite: false });
    upload.onReply({ t: "upload_ready", id, offset: 0 });
    await until(() => fake.last("upload_end") !== undefined);
    expect(fake.data.map((d) => d.payload.length)).toEqual([MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES, 5]);
    const digest = hexOf(content);
    expect(fake.last("upload_end")!.request).toEqual({ t: "upload_end", sha256: digest });
    expect(upload.view().state).toBe("verifying");
    upload.onReply({ t: "upload_done", id, path: "/d/a.bin", size: content.length, sha256: digest });
    expect(upload.view()).toMatchObject({ state: "done", bytes: content.length });
  });

  it("resumes after a network loss from where the device stands, hashing the whole file", async () => {
    const content = bytes(3 * MAX_PAYLOAD_BYTES);
    const fake = new FakeConnection();
    const upload = new UploadTransfer(fake as unknown as FilesConnection, new Blob([content]), "b.bin", "/d/b.bin", false, () => {});
    upload.start();
    const first = fake.last("upload")!.id;
    // The browser's queue fills after the first frame: the upload waits there.
    fake.stallAfter = 1;
    upload.onReply({ t: "upload_ready", id: first, offset: 0 });
    await until(() => fake.data.length >= 1);
    await settle();
    expect(fake.data.length).toBe(1);
    const sentBefore = fake.data.length;
    fake.stallAfter = Infinity;
    fake.connected = false;
    upload.onLost();
    expect(upload.view().state).toBe("paused");
    fake.buffered = 0;
    fake.connected = true;
    upload.onResume();
    const again = fake.last("upload")!;
    expect(again.id).not.toBe(first);
    expect((again.request as { offset: number }).offset).toBe(sentBefore * MAX_PAYLOAD_BYTES);
    // The device only has the first 1000 bytes on disk.
    fake.data = [];
    upload.onReply({ t: "upload_ready", id: again.id, offset: 1000 });
    await until(() => fake.last("upload_end") !== undefined && fake.last("upload_end")!.id === again.id);
    const resent = new Uint8Array(fake.data.reduce((n, d) => n + d.payload.length, 0));
    let at = 0;
    for (const d of fake.data) {
      resent.set(d.payload, at);
      at += d.payload.length;
    }
    expect(resent.length).toBe(content.length - 1000);
    expect(hexOf(resent)).toBe(hexOf(content.subarray(1000)));
    expect(fake.last("upload_end")!.request).toEqual({ t: "upload_end", sha256: hexOf(content) });
    expect(upload.view().resumed).toBe(1);
  });

  it("fails on the device's refusal or a different hash, and cancels", () => {
    const fake = new FakeConnection();
    const one = new UploadTransfer(fake as unknown as FilesConnection, new Blob([bytes(10)]), "c", "/d/c", false, () => {});
    one.start();
    one.onReply({ t: "error", id: fake.last("upload")!.id, code: "exists", message: "'/d/c' already exists." });
    expect(one.view()).toMatchObject({ state: "failed", error: { code: "exists" } });
    const two = new UploadTransfer(fake as unknown as FilesConnection, new Blob([bytes(10)]), "e", "/d/e", false, () => {});
    two.start();
    two.cancel();
    expect(fake.last("cancel")!.id).toBe(fake.last("upload")!.id);
    expect(two.view().state).toBe("cancelled");
  });
});

describe("downloads", () => {
  const start = (id: number, offset = 0): Reply => ({ t: "download_start", id, kind: "file", name: "f.bin", size: 6, offset });

  it("checks the SHA-256, acknowledges, resumes at the byte where it stopped, and saves once", async () => {
    const fake = new FakeConnection();
    const saved: { blob: Blob; name: string }[] = [];
    const download = new DownloadTransfer(
      fake as unknown as FilesConnection,
      "f.bin",
      "/d/f.bin",
      6,
      false,
      (blob, name) => saved.push({ blob, name }),
      () => {},
    );
    download.start();
    let id = fake.last("download")!.id;
    expect(fake.last("download")!.request).toMatchObject({ t: "download", path: "/d/f.bin", offset: 0 });
    download.onReply(start(id));
    download.onReply({ t: "data", id, payload: new Uint8Array([1, 2, 3, 4]) });
    download.onLost();
    download.onResume();
    id = fake.last("download")!.id;
    expect(fake.last("download")!.request).toMatchObject({ offset: 4 });
    download.onReply(start(id, 4));
    download.onReply({ t: "data", id, payload: new Uint8Array([5, 6]) });
    download.onReply({ t: "download_end", id, size: 6, sha256: hexOf(new Uint8Array([1, 2, 3, 4, 5, 6])) });
    expect(download.view()).toMatchObject({ state: "done", bytes: 6, resumed: 1 });
    expect(saved.map((s) => s.name)).toEqual(["f.bin"]);
    expect(new Uint8Array(await saved[0].blob.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6]));
  });

  it("refuses bytes whose hash differs, and saves nothing", () => {
    const fake = new FakeConnection();
    const saved: string[] = [];
    const download = new DownloadTransfer(fake as unknown as FilesConnection, "g", "/d/g", 2, false, (_b, n) => saved.push(n), () => {});
    download.start();
    const id = fake.last("download")!.id;
    download.onReply(start(id));
    download.onReply({ t: "data", id, payload: new Uint8Array([1, 2]) });
    download.onReply({ t: "download_end", id, size: 2, sha256: "0".repeat(64) });
    expect(download.view()).toMatchObject({ state: "failed", error: { code: "hash_mismatch" } });
    expect(saved).toEqual([]);
  });

  it("decodes the device's frames into what the transfer takes", () => {
    const head = new TextEncoder().encode('{"t":"upload_progress","id":3,"bytes":5}');
    const frame = new Uint8Array(4 + head.length);
    new DataView(frame.buffer).setUint32(0, head.length);
    frame.set(head, 4);
    expect(decodeReply(frame)).toEqual({ t: "upload_progress", id: 3, bytes: 5 });
  });
});
