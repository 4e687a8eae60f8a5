/** Keys of internal options that weft's modules pass to `new Scope()`. */
export const kDetached: unique symbol = Symbol('weft.detached');
export const kRootRun: unique symbol = Symbol('weft.rootRun');

/** Marks "no value" where `undefined` is a legal value. */
export const NONE: unique symbol = Symbol('weft.none');
