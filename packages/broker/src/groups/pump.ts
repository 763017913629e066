/**
 * Runs an asynchronous step, never two at once. Asking while a step runs makes it run once
 * more afterwards, however many times it was asked: every event that may let records move
 * (an ack, a new record, a member joining) just calls schedule().
 */
export class Pump {
  private running = false;
  private again = false;

  constructor(private readonly step: () => Promise<void>) {}

  schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    queueMicrotask(() => void this.run());
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.step();
      } while (this.again);
    } finally {
      this.running = false;
    }
  }
}
