/**
 * Types for noVNC 1.7 (`@novnc/novnc`, which ships none): its public RFB API (docs/API.md)
 * and the few internals that RelayRFB (relayRfb.ts) extends. The package exports only
 * core/rfb.js, so everything else noVNC has is out of reach by design.
 */

declare module "@novnc/novnc" {
  /** noVNC's WebSocket wrapper: a receive queue read with rQ*, a send queue filled with sQ*. */
  export interface Websock {
    rQwait(message: string, bytes: number, goBack?: number): boolean;
    rQpeek8(): number;
    rQpeekBytes(length: number, copy?: boolean): Uint8Array;
    rQskipBytes(length: number): void;
    sQpush8(value: number): void;
    sQpush32(value: number): void;
    sQpushString(value: string): void;
    flush(): void;
  }

  export interface Display {
    readonly width: number;
    readonly height: number;
    clipViewport: boolean;
    viewportChangeSize(width?: number, height?: number): void;
    viewportChangePos(deltaX: number, deltaY: number): void;
    autoscale(containerWidth: number, containerHeight: number): void;
    scale: number;
    _viewportLoc: { x: number; y: number; w: number; h: number };
  }

  export type RfbOptions = {
    shared?: boolean;
    credentials?: { username?: string; password?: string; target?: string };
    repeaterID?: string;
    wsProtocols?: string[];
  };

  export type RfbEvents = {
    connect: CustomEvent<Record<string, never>>;
    disconnect: CustomEvent<{ clean: boolean }>;
    credentialsrequired: CustomEvent<{ types: string[] }>;
    securityfailure: CustomEvent<{ status: number; reason?: string }>;
    clipboard: CustomEvent<{ text: string }>;
    bell: CustomEvent<Record<string, never>>;
    desktopname: CustomEvent<{ name: string }>;
    capabilities: CustomEvent<{ capabilities: { power: boolean } }>;
    clippingviewport: CustomEvent<boolean>;
  };

  export default class RFB extends EventTarget {
    constructor(target: HTMLElement, urlOrChannel: string | WebSocket, options?: RfbOptions);

    background: string;
    clipViewport: boolean;
    readonly clippingViewport: boolean;
    compressionLevel: number;
    dragViewport: boolean;
    focusOnClick: boolean;
    qualityLevel: number;
    resizeSession: boolean;
    scaleViewport: boolean;
    showDotCursor: boolean;
    viewOnly: boolean;
    readonly capabilities: { power: boolean };

    addEventListener<K extends keyof RfbEvents>(
      type: K,
      listener: (event: RfbEvents[K]) => void,
      options?: boolean | AddEventListenerOptions,
    ): void;
    addEventListener(
      type: string,
      listener: EventListenerOrEventListenerObject | null,
      options?: boolean | AddEventListenerOptions,
    ): void;

    blur(): void;
    clipboardPasteFrom(text: string): void;
    disconnect(): void;
    focus(options?: FocusOptions): void;
    getImageData(): ImageData;
    sendCtrlAltDel(): void;
    sendKey(keysym: number, code: string | null, down?: boolean): void;
    toBlob(callback: (blob: Blob | null) => void, type?: string, quality?: number): void;
    toDataURL(type?: string, quality?: number): string;

    // Internals (noVNC 1.7) used by RelayRFB.
    protected _sock: Websock;
    protected _display: Display;
    protected _screen: HTMLElement;
    protected _canvas: HTMLCanvasElement;
    protected _rfbConnectionState: "" | "connecting" | "connected" | "disconnecting" | "disconnected";
    protected _supportsFence: boolean;
    /** The agent offers continuous updates (it sent an EndOfContinuousUpdates). */
    protected _supportsContinuousUpdates: boolean;
    /** Continuous updates are on: noVNC asks for no update after each one. */
    protected _enabledContinuousUpdates: boolean;
    /** The framebuffer update being read: the current rectangle's header. */
    protected _FBU: {
      rects: number;
      x: number;
      y: number;
      width: number;
      height: number;
      encoding: number | null;
    };
    protected _fbWidth: number;
    protected _fbHeight: number;
    protected _scaleViewport: boolean;
    protected _clipViewport: boolean;
    protected _sendEncodings(): void;
    /** Reads one server message (its type byte first, unless an update's rectangles are still
     * being read); after a completed update, asks for the next unless continuous updates are on. */
    protected _normalMsg(): boolean;
    /** Turns continuous updates on for the whole framebuffer, when they are enabled. */
    protected _updateContinuousUpdates(): void;
    protected _framebufferUpdate(): boolean;
    /** Decodes the current rectangle with the decoder of its encoding; false while its bytes
     * have not all arrived (called again, for the same rectangle, when more come). */
    protected _handleDataRect(): boolean;
    protected _handleServerFenceMsg(): boolean;
    protected _handleExtendedDesktopSize(): boolean;
    protected _updateClip(): void;
    protected _updateScale(): void;
    protected _screenSize(): { w: number; h: number };

    static messages: {
      clientEncodings(sock: Websock, encodings: number[]): void;
      clientFence(sock: Websock, flags: number, payload: string): void;
      enableContinuousUpdates(
        sock: Websock,
        enable: boolean,
        x: number,
        y: number,
        width: number,
        height: number,
      ): void;
      fbUpdateRequest(
        sock: Websock,
        incremental: boolean,
        x: number,
        y: number,
        width: number,
        height: number,
      ): void;
    };
  }
}
