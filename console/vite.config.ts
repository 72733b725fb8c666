import { defineConfig } from 'vite';

// Served by the gateway under /console/ (LC_GATEWAY_CONSOLE_DIR points at dist/).
export default defineConfig({
  base: '/console/',
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 1200 },
  test: { include: ['test/**/*.test.ts'], environment: 'node' },
});
