export { DatabaseError, SqlState, type SqlStateCode } from './errors.ts';
export { createRandom, type Random } from './random.ts';
