import { defineConfig } from 'tsup';

export default defineConfig({
  // `effect/index` is the `@weft/core/effect` subpath: the only entry that imports `effect`
  // (an optional peer). Code both entries share goes to a common chunk, so the two entries
  // see one copy of weft's state (the task context, error classes).
  entry: {
    index: 'src/index.ts',
    'effect/index': 'src/effect/index.ts',
    // `@weft/core/validate`: the argument checks shared with packages built on weft.
    validate: 'src/validate.ts',
  },
  external: [/^effect(\/|$)/],
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  dts: true,
  sourcemap: true,
  clean: true,
  treeshake: true,
});
