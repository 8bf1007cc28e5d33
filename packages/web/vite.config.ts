// The dashboard is served by `kumo server` at /ui/ on the API's own origin (no CORS, no extra process).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  base: "/ui/",
  plugins: [react()],
  build: { outDir: "dist/app", emptyOutDir: true, sourcemap: true },
});
