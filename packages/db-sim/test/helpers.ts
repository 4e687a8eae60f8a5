/** The shared test fixtures (same on Node, Bun and Deno) live with core's tests. */
export { collectUnhandled, countingController, deferred, tick } from '../../core/test/helpers.ts';
