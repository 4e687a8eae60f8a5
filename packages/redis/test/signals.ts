// Shared test fixtures from core (one copy: core's test helpers).
export { countingController } from '../../core/test/helpers.ts';
