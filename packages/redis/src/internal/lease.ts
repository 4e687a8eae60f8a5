import { LeaseLostError } from '../errors.ts';

/**
 * Keeps a lease alive: renews it every third of its length, and aborts `signal` with
 * {@link LeaseLostError} when Redis says it is gone or when no renewal was confirmed before
 * it may have expired. "Confirmed until" is counted from when the confirming command was
 * sent, so a slow reply or a paused process errs on the safe side.
 */
export class Lease {
  readonly #controller = new AbortController();
  readonly #ms: number;
  readonly #renew: () => Promise<boolean>;
  readonly #what: string;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /** `sentAt`: `performance.now()` when the command that granted the lease was sent. */
  constructor(what: string, ms: number, sentAt: number, renew: () => Promise<boolean>) {
    this.#what = what;
    this.#ms = ms;
    this.#renew = renew;
    this.#confirm(sentAt);
    this.#scheduleRenew();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Stops renewing (released, acked…). The signal stays as it is. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#expiryTimer);
    this.#renewTimer = this.#expiryTimer = undefined;
  }

  #confirm(sentAt: number): void {
    clearTimeout(this.#expiryTimer);
    const left = sentAt + this.#ms - performance.now();
    this.#expiryTimer = setTimeout(
      () => {
        this.#lose(`${this.#what}: its lease of ${this.#ms} ms could not be renewed in time`);
      },
      Math.max(0, left),
    );
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

  async #renewOnce(): Promise<void> {
    const sentAt = performance.now();
    let held: boolean | undefined;
    try {
      held = await this.#renew();
    } catch {
      // Redis unreachable: try again next period; the expiry timer decides.
    }
    if (this.#stopped) return;
    if (held === false) {
      this.#lose(`${this.#what}: Redis no longer holds its lease (it expired or was taken over)`);
      return;
    }
    if (held === true) this.#confirm(sentAt);
    this.#scheduleRenew();
  }

  #lose(message: string): void {
    if (this.#stopped) return;
    this.stop();
    this.#controller.abort(new LeaseLostError(message));
  }
}
