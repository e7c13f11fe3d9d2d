import { createInterface, Interface } from 'node:readline';
import { Writable } from 'node:stream';

/**
 * Questions on stderr (stdout stays for results), answers from stdin: typed at a terminal (secrets without echo),
 * or read line by line from a pipe, so scripts and tests can answer. Lines a pipe delivers before they are asked
 * for are queued, not lost.
 */
export class Prompter {
  private rl: Interface | null = null;
  private readonly lines: string[] = [];
  private readonly waiting: Array<(line: string | null) => void> = [];
  private closed = false;
  private muted = false;

  constructor(private readonly input: NodeJS.ReadStream, private readonly output: NodeJS.WriteStream) {}

  get interactive(): boolean {
    return this.input.isTTY === true;
  }

  /** The next line, or null at the end of input. */
  async ask(question: string): Promise<string | null> {
    this.output.write(question);
    const line = await this.nextLine();
    // A terminal echoed the answer and its newline; from a pipe, end the question's line here.
    if (!this.interactive) this.output.write('\n');
    return line;
  }

  /** As `ask`, without echoing what is typed at a terminal. */
  async askSecret(question: string): Promise<string | null> {
    // Echo goes off before the question shows: an answer typed the moment it appears must not be echoed.
    this.muted = true;
    this.open();
    this.output.write(question);
    try {
      return await this.nextLine();
    } finally {
      this.muted = false;
      this.output.write('\n');
    }
  }

  /** Yes only for an answer starting with y or Y; the end of input is a no. */
  async confirm(question: string): Promise<boolean> {
    const answer = await this.ask(`${question} [y/N] `);
    return answer !== null && /^\s*y/i.test(answer);
  }

  close(): void {
    this.rl?.close();
  }

  private nextLine(): Promise<string | null> {
    this.open();
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private open(): void {
    if (this.rl) return;
    const output = this.output;
    // readline echoes what is typed at a terminal through its output: muted while a secret is typed.
    const echo = new Writable({
      write: (chunk, _encoding, done) => {
        if (!this.muted) output.write(chunk);
        done();
      },
    });
    this.rl = createInterface({ input: this.input, output: echo, terminal: this.interactive });
    this.rl.on('line', (line) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    });
    this.rl.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiting.splice(0)) waiter(null);
    });
    // Ctrl-C at a prompt: readline swallows SIGINT on a terminal, so end as the shell would have.
    this.rl.on('SIGINT', () => {
      output.write('\n');
      process.exit(130);
    });
  }
}
