// Ctrl-C and SIGTERM during `pugd train` (see StopOnSignal). Installed before anything is printed, so
// a --json consumer that has seen the start line can rely on a signal being handled.

import type { RunOutput } from './trainer.js';

/**
 * What SIGINT (Ctrl-C) and SIGTERM do to `pugd train`. The first one lets the step in progress finish,
 * writes a checkpoint and exits 130 (before training starts: exits 130 with nothing written). A second
 * one while a step runs quits at once, saying which checkpoint is the last (none is written for the
 * unfinished step); while the checkpoint is being written it says so and the write completes first, so
 * a second Ctrl-C never loses a checkpoint silently. Each signal is also a JSON event with --json.
 */
export class StopOnSignal {
  requested = false;
  private writing = false;
  private training = false;
  private last: string | null = null;
  private readonly handler = (sig: NodeJS.Signals) => this.onSignal(sig);

  constructor(private readonly emit?: (o: Record<string, unknown>) => void) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  uninstall(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }

  /** Training is about to start: checkpoints are written through `output`, the last so far is `last`. */
  watch(output: Pick<RunOutput, 'checkpoint'>, last: string | null): void {
    this.training = true;
    this.last = last;
    if (!output.checkpoint) return;
    const save = output.checkpoint.bind(output);
    output.checkpoint = async (c) => {
      this.writing = true;
      try {
        this.last = await save(c);
        return this.last;
      } finally {
        this.writing = false;
      }
    };
  }

  /** A stop asked for before the first step: nothing to save. */
  async beforeTraining(data: { close(): Promise<void> }, model: { dispose(): void }): Promise<number> {
    await data.close();
    model.dispose();
    process.stderr.write('pugd: interrupted before the first step: nothing was trained and no checkpoint was written\n');
    this.emit?.({ event: 'stopped', steps: 0, last_checkpoint: this.last });
    return 130;
  }

  private say(sig: NodeJS.Signals, action: string, line: string): void {
    process.stderr.write(`\npugd: ${sig}: ${line}\n`);
    this.emit?.({ event: 'signal', signal: sig, action, last_checkpoint: this.last });
  }

  private onSignal(sig: NodeJS.Signals): void {
    const where = this.last ? `the last checkpoint is ${this.last}` : 'no checkpoint has been written in this run';
    if (!this.requested) {
      this.requested = true;
      if (this.training) this.say(sig, 'stop-after-step', 'stopping after this step and writing a checkpoint (Ctrl-C again to quit at once without it)');
      else this.say(sig, 'stop-before-training', 'stopping before training starts (Ctrl-C again to quit at once)');
      return;
    }
    if (this.writing) {
      this.say(sig, 'finish-checkpoint', 'a checkpoint is being written; quitting as soon as it is complete');
      return;
    }
    this.say(sig, 'quit', `quitting now: the unfinished step is not checkpointed; ${where}`);
    process.exit(130);
  }
}
