/**
 * The base of SealGuard's own errors: `instanceof SealGuardError` tells ours from a library's or
 * the runtime's, and `context` says what the error was about (symbol, clientOrderId, file,
 * source...) in fields a log line keeps apart from the message. `cause` is ES2022's.
 */
export interface SealGuardErrorOptions extends ErrorOptions {
  context?: Record<string, unknown>;
}

export class SealGuardError extends Error {
  /** What the error concerned; an own enumerable field, so pino's err serializer logs it. */
  declare readonly context?: Record<string, unknown>;

  constructor(message?: string, options?: SealGuardErrorOptions) {
    super(message, options);
    // The subclass's own name unless it sets one (a bundler may rename classes; a literal stays).
    this.name = new.target.name;
    if (options?.context) this.context = options.context;
  }
}
