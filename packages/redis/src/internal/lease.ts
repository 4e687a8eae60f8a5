import { LeaseLostError } from '../errors.ts';

/**
 * Keeps a lease alive: renews it every third of its length, and aborts `signal` with
 * {@link LeaseLostError} when Redis says it is gone or when no renewal was confirmed before
 * it may have expired. "Confirmed until" is counted from when the confirming command was
 * sent, so a slow reply or a paused process errs on the safe side.
 *
 * A subclass may override `renew()` and `describe()` instead of passing them (a semaphore's
 * permit does: one object per permit, no closures).
 */
export class Lease {
  // Made when `signal` is first read (or the lease is lost): most holders never look.
  #controller: AbortController | undefined;
  readonly #ms: number;
  readonly #renew: (() => Promise<boolean>) | undefined;
  readonly #what: string;
  // `performance.now()` when the command behind the last confirmation was sent.
  #confirmedAt: number;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  // Armed only while a renewal is due and not confirmed: one timer per lease otherwise.
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /**
   * `sentAt`: `performance.now()` when the command that granted the lease was sent.
   * `what` names the lease in errors; `renew` asks Redis to extend it (`false`: gone).
   */
  constructor(what: string, ms: number, sentAt: number, renew?: () => Promise<boolean>) {
    this.#what = what;
    this.#ms = ms;
    this.#renew = renew;
    this.#confirmedAt = sentAt;
    this.#scheduleRenew();
  }

  /** Asks Redis to extend the lease: `true` if it did, `false` if the lease is gone. */
  protected renew(): Promise<boolean> {
    if (this.#renew === undefined) return Promise.reject(new TypeError('no renew function'));
    return this.#renew();
  }

  /** What the lease is, for the `LeaseLostError` message. */
  protected describe(): string {
    return this.#what;
  }

  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  /** Stops renewing (released, acked…). The signal stays as it is. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#expiryTimer);
    this.#renewTimer = this.#expiryTimer = undefined;
  }

  #scheduleRenew(): void {
    this.#renewTimer = setTimeout(
      () => {
        this.#renewTimer = undefined;
        void this.#renewOnce();
      },
      Math.max(1, Math.floor(this.#ms / 3)),
    );
  }

  // The lease ends `ms` after the last confirmation unless a renewal confirms it first.
  #armExpiry(): boolean {
    clearTimeout(this.#expiryTimer);
    const left = this.#confirmedAt + this.#ms - performance.now();
    if (left <= 0) {
      this.#lose(`${this.describe()}: its lease of ${this.#ms} ms could not be renewed in time`);
      return false;
    }
    this.#expiryTimer = setTimeout(() => {
      this.#lose(`${this.describe()}: its lease of ${this.#ms} ms could not be renewed in time`);
    }, left);
    return true;
  }

  async #renewOnce(): Promise<void> {
    // A process paused past the lease (GC, SIGSTOP) finds it over before asking.
    if (!this.#armExpiry()) return;
    const sentAt = performance.now();
    let held: boolean | undefined;
    try {
      held = await this.renew();
    } catch {
      // Redis unreachable: try again next period; the armed expiry timer decides.
    }
    if (this.#stopped) return;
    if (held === false) {
      this.#lose(
        `${this.describe()}: Redis no longer holds its lease (it expired or was taken over)`,
      );
      return;
    }
    if (held === true) {
      // A confirmation that arrives after the lease it confirms ran out confirms nothing.
      if (performance.now() >= sentAt + this.#ms) {
        this.#lose(`${this.describe()}: its lease of ${this.#ms} ms could not be renewed in time`);
        return;
      }
      this.#confirmedAt = sentAt;
      clearTimeout(this.#expiryTimer);
      this.#expiryTimer = undefined;
    }
    this.#scheduleRenew();
  }

  #lose(message: string): void {
    if (this.#stopped) return;
    this.stop();
    this.#controller ??= new AbortController();
    this.#controller.abort(new LeaseLostError(message));
  }
}
