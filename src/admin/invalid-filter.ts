/**
 * A filter the caller got wrong (a number that is no number, a cursor we never issued).
 * Its own module: the error handler every app shares maps it to a 400, and a worker's
 * operations app must not load Prisma's runtime through the filter's SQL builder.
 */
export class InvalidFilter extends Error {
  override name = 'InvalidFilter'
}
