/**
 * `npm run test:long` sets TEST_LONG=1: the files with a long variant (docs/TESTING.md, "Long
 * variants") run it in full (the fuzz seeds, the soak's minutes...); `npm test` runs the same checks
 * on a fixed, smaller sample, so that no guarantee goes untested there.
 */
export const LONG = process.env.TEST_LONG === '1';

/** `long` under `npm run test:long`, else `short`. */
export const longOr = <T>(long: T, short: T): T => (LONG ? long : short);
