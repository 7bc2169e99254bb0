import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the UI with hot reload and sends /api (HTTP and the notify
// WebSocket) to the console gateway (`switchboard-console serve`, port 8080), so the
// browser sees one origin exactly as in production.
const gateway = "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": { target: gateway, changeOrigin: true, ws: true },
    },
  },
});
