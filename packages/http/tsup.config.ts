import { defineConfig } from 'tsup';

export default defineConfig({
  // `effect/index` is the `@weft/http/effect` subpath: the only entry that imports `effect`
  // and `@effect/platform` (optional peers). Shared code goes to a common chunk.
  entry: { index: 'src/index.ts', 'effect/index': 'src/effect/index.ts' },
  external: [/^effect(\/|$)/, /^@effect\//, /^@weft\/core(\/|$)/],
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
});
