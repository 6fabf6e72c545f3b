// One AbortSignal per outbound call that fires on the caller's signal OR the
// total time cap, remembering which, so the error can say 'aborted' vs 'timeout'.
import { OutboundError, toOutboundError } from './errors.js';
import type { TimeoutLimits } from './errors.js';

export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onExternalAbort: () => void;
  private timedOut = false;

  constructor(
    private readonly totalMs: number,
    private readonly external: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`total timeout of ${totalMs} ms exceeded`));
    }, totalMs);
    this.onExternalAbort = () => this.controller.abort(external?.reason);
    if (external?.aborted) this.onExternalAbort();
    else external?.addEventListener('abort', this.onExternalAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Turn whatever was thrown into an OutboundError, attributing aborts correctly. */
  classify(err: unknown, url: string, limits: TimeoutLimits): OutboundError {
    // Our own errors win: they were thrown deliberately (e.g. too_large),
    // possibly just as the timer fired.
    if (err instanceof OutboundError) return err;
    if (this.controller.signal.aborted) {
      if (this.timedOut) {
        return new OutboundError('timeout', url, `request exceeded the total timeout of ${this.totalMs} ms`, { cause: err });
      }
      return new OutboundError('aborted', url, 'request aborted by caller', { cause: err });
    }
    return toOutboundError(err, url, limits);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.external?.removeEventListener('abort', this.onExternalAbort);
  }
}
