import { describe, expect, it } from "vitest";
import { arrange, baseName, crumbsOf, isUnder, joinPath, modeText, nameProblem, nextSort, parentOf, rootOf } from "./paths";
import { dataFrame, decodeReply, encodeRequest, FileFrameError, type Entry } from "./protocol";
import { Sha256 } from "./sha256";
import { RateMeter, secondsLeft } from "./transfers";

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (text: string) => new Uint8Array(text.match(/../g)!.map((h) => parseInt(h, 16)));
const enc = new TextEncoder();

function frameOf(header: unknown, payload: Uint8Array = new Uint8Array()): Uint8Array {
  const head = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(4 + head.length + payload.length);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(payload, 4 + head.length);
  return out;
}

const entry = (name: string, over: Partial<Entry> = {}): Entry => ({
  name,
  path: `/d/${name}`,
  type: "file",
  size: 0,
  mtime: 0,
  mode: 0o644,
  hidden: name.startsWith("."),
  ...over,
});

describe("file frames", () => {
  it("writes what relaydesk.protocol.files reads", () => {
    // fp.data_frame(7, b"\x01\x02")
    expect(hex(dataFrame(7, new Uint8Array([1, 2])))).toBe("000000137b2274223a2264617461222c226964223a377d0102");
    const upload = encodeRequest(4, { t: "upload", path: "/tmp/é", size: 10, offset: 0, overwrite: false });
    const length = new DataView(upload.buffer).getUint32(0);
    expect(length).toBe(upload.length - 4);
    expect(JSON.parse(new TextDecoder().decode(upload.subarray(4)))).toEqual({
      t: "upload",
      path: "/tmp/é",
      size: 10,
      offset: 0,
      overwrite: false,
      id: 4,
    });
  });

  it("reads what relaydesk.protocol.files writes", () => {
    expect(decodeReply(fromHex("000000117b2274223a226f6b222c226964223a337d"))).toEqual({ t: "ok", id: 3 });
    const error = frameOf({ t: "error", id: 5, code: "out_of_bounds", message: "é" });
    expect(decodeReply(error.buffer as ArrayBuffer)).toEqual({ t: "error", id: 5, code: "out_of_bounds", message: "é" });
    const data = decodeReply(frameOf({ t: "data", id: 9 }, new Uint8Array([7, 8, 9])));
    expect(data).toEqual({ t: "data", id: 9, payload: new Uint8Array([7, 8, 9]) });
    const listing = decodeReply(frameOf({ t: "listing", id: 2, path: "/d", entries: [entry("a"), entry("l", { type: "link" })], truncated: false }));
    expect(listing).toMatchObject({ t: "listing", path: "/d", entries: [entry("a"), entry("l", { type: "link" })] });
    const start = { t: "download_start", id: 1, kind: "archive", name: "d.tar", size: null, offset: 0 };
    expect(decodeReply(frameOf(start))).toEqual(start);
  });

  it("refuses malformed frames with FileFrameError only", () => {
    const bad: Uint8Array[] = [
      new Uint8Array([0, 0]),
      new Uint8Array([0, 0, 0, 9, 0x7b]),
      new Uint8Array([0xff, 0, 0, 0]),
      frameOf([1, 2]),
      frameOf({ id: 1 }),
      frameOf({ t: "nope", id: 1 }),
      frameOf({ t: "constructor", id: 1 }),
      frameOf({ t: "ok", id: -1 }),
      frameOf({ t: "ok", id: 1.5 }),
      frameOf({ t: "ok", id: 1 }, new Uint8Array([1])),
      frameOf({ t: "upload_ready", id: 1, offset: -3 }),
      frameOf({ t: "download_end", id: 1, size: 3, sha256: "xyz" }),
      frameOf({ t: "listing", id: 1, path: "/", entries: [{ name: "a" }] }),
      new Uint8Array([0, 0, 0, 2, 0xc3, 0x28]),
    ];
    for (const frame of bad) expect(() => decodeReply(frame)).toThrow(FileFrameError);
  });

  it("never throws anything but FileFrameError on random input", () => {
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const pieces = ['{"t":"', "ok", "data", '","id":', "1", "}", "\u00e9", "[", "null"];
    for (let i = 0; i < 3000; i++) {
      const text = Array.from({ length: next() % 6 }, () => pieces[next() % pieces.length]).join("");
      const head = enc.encode(text);
      const frame = new Uint8Array(4 + head.length + (next() % 3));
      new DataView(frame.buffer).setUint32(0, next() % 4 === 0 ? next() : head.length);
      frame.set(head, 4);
      try {
        decodeReply(frame);
      } catch (error) {
        expect(error).toBeInstanceOf(FileFrameError);
      }
    }
  });
});

describe("sha256", () => {
  it("matches the standard vectors", () => {
    expect(new Sha256().hex()).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(new Sha256().update(enc.encode("abc")).hex()).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    const long = enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    expect(new Sha256().update(long).hex()).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("gives the same digest however the bytes are cut", () => {
    const million = new Uint8Array(1_000_000).fill(0x61);
    const whole = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    expect(new Sha256().update(million).hex()).toBe(whole);
    const pieces = new Sha256();
    for (let at = 0, step = 1; at < million.length; at += step, step = (step * 7 + 3) % 9000 || 1) {
      pieces.update(million.subarray(at, at + step));
    }
    expect(pieces.bytes).toBe(1_000_000);
    expect(pieces.hex()).toBe(whole);
    const all = new Uint8Array(768).map((_, i) => i % 256);
    expect(new Sha256().update(all.subarray(0, 55)).update(all.subarray(55, 64)).update(all.subarray(64)).hex()).toBe(
      "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363",
    );
  });
});

describe("device paths", () => {
  it("joins and climbs POSIX and Windows paths", () => {
    expect(joinPath("/", "etc")).toBe("/etc");
    expect(joinPath("/home/ann/", "a b")).toBe("/home/ann/a b");
    expect(joinPath("C:\\", "Users")).toBe("C:\\Users");
    expect(joinPath("C:\\Users", "ann")).toBe("C:\\Users\\ann");
    expect(parentOf("/home/ann")).toBe("/home");
    expect(parentOf("/home")).toBe("/");
    expect(parentOf("/")).toBeNull();
    expect(parentOf("C:\\Users\\ann")).toBe("C:\\Users");
    expect(parentOf("C:\\Users")).toBe("C:\\");
    expect(parentOf("C:\\")).toBeNull();
    expect(baseName("/home/ann/")).toBe("ann");
    expect(baseName("C:\\")).toBe("C:\\");
  });

  it("knows what is under a root, and which root", () => {
    expect(isUnder("/srv/data/x", "/srv/data")).toBe(true);
    expect(isUnder("/srv/database", "/srv/data")).toBe(false);
    expect(isUnder("/anything", "/")).toBe(true);
    expect(isUnder("c:\\users\\ann", "C:\\Users")).toBe(true);
    const roots = [
      { path: "/", name: "/", total: null, free: null },
      { path: "/home/ann", name: "ann", total: null, free: null },
    ];
    expect(rootOf("/home/ann/docs", roots)?.name).toBe("ann");
    expect(rootOf("/etc", roots)?.name).toBe("/");
    expect(rootOf("/etc", roots.slice(1))).toBeNull();
  });

  it("makes breadcrumbs from the root down", () => {
    expect(crumbsOf("/home/ann/docs", "/home/ann")).toEqual([
      { name: "ann", path: "/home/ann" },
      { name: "docs", path: "/home/ann/docs" },
    ]);
    expect(crumbsOf("/etc/ssh", null).map((c) => c.path)).toEqual(["/", "/etc", "/etc/ssh"]);
    expect(crumbsOf("D:\\a\\b", "D:\\").map((c) => c.name)).toEqual(["D:\\", "a", "b"]);
  });

  it("sorts folders first, by any column, and hides hidden files unless asked", () => {
    const entries = [
      entry("b10", { size: 5, mtime: 3 }),
      entry("b9", { size: 50, mtime: 1 }),
      entry(".secret", { size: 1, mtime: 9 }),
      entry("zdir", { type: "directory", mtime: 2 }),
      entry("Adir", { type: "directory", mtime: 5 }),
    ];
    const names = (sorted: Entry[]) => sorted.map((e) => e.name);
    expect(names(arrange(entries, { key: "name", descending: false }, false))).toEqual(["Adir", "zdir", "b9", "b10"]);
    expect(names(arrange(entries, { key: "name", descending: true }, true))).toEqual([
      "zdir",
      "Adir",
      "b10",
      "b9",
      ".secret",
    ]);
    expect(names(arrange(entries, { key: "size", descending: true }, false))).toEqual(["Adir", "zdir", "b9", "b10"]);
    expect(names(arrange(entries, { key: "mtime", descending: false }, true))).toEqual([
      "zdir",
      "Adir",
      "b9",
      "b10",
      ".secret",
    ]);
    expect(nextSort({ key: "name", descending: false }, "name")).toEqual({ key: "name", descending: true });
    expect(nextSort({ key: "name", descending: true }, "size")).toEqual({ key: "size", descending: false });
  });

  it("shows permission bits and checks new names", () => {
    expect(modeText(0o755, "directory")).toBe("drwxr-xr-x");
    expect(modeText(0o640, "file")).toBe("-rw-r-----");
    expect(modeText(0o777, "other")).toBe("?rwxrwxrwx");
    expect(modeText(0o777, "link")).toBe("lrwxrwxrwx");
    expect(nameProblem("report.pdf")).toBeNull();
    expect(nameProblem("  ")).toBe("empty");
    expect(nameProblem("a/b")).toBe("separator");
    expect(nameProblem("a\\b")).toBe("separator");
    expect(nameProblem("..")).toBe("dots");
  });
});

describe("transfer progress", () => {
  it("measures the rate over the last seconds and the time left", () => {
    const meter = new RateMeter();
    expect(meter.rate()).toBeNull();
    meter.add(0, 0);
    meter.add(100, 100);
    expect(meter.rate()).toBeNull(); // too short to tell
    meter.add(1000, 1000);
    expect(meter.rate()).toBe(1000);
    for (let t = 2000; t <= 10_000; t += 1000) meter.add(t, 1000 + (t - 1000) * 3);
    expect(meter.rate()).toBe(3000); // the old slow part has left the window
    expect(secondsLeft(1000, 7000, 3000)).toBe(2);
    expect(secondsLeft(1000, null, 3000)).toBeNull();
    expect(secondsLeft(1000, 2000, 0)).toBeNull();
    meter.reset();
    expect(meter.rate()).toBeNull();
  });
});
