/** xterm.js and its fit addon, loaded only when a shell is opened (a separate chunk). */
import "@xterm/xterm/css/xterm.css";

export { FitAddon } from "@xterm/addon-fit";
export { Terminal } from "@xterm/xterm";
