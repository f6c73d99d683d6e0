/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// Preact without its Vite preset: the JSX transform alone is enough for this app.
export default defineConfig({
  base: "/",
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
  build: {
    outDir: "../src/relaydesk/server/web_dist",
    emptyOutDir: true,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8765" },
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
