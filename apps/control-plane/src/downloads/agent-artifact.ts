import { createReadStream, type ReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, APP_CONFIG } from '../config/app-config';

export const AGENT_FILE = 'meshgate-agent.js';

/** The bundled agent `npm run build:agent` left in AGENT_DOWNLOAD_DIR, with its checksum file (sha256sum's format). */
@Injectable()
export class AgentArtifact {
  private readonly path: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.path = join(config.agentDownloadDir, AGENT_FILE);
  }

  /** The checksum file's text, or null when the agent has not been built (or its checksum file is not one). */
  async checksumFile(): Promise<string | null> {
    const text = await readFile(`${this.path}.sha256`, 'utf8').catch(() => null);
    return text !== null && /^[0-9a-f]{64}  meshgate-agent\.js\n$/.test(text) ? text : null;
  }

  async sha256(): Promise<string | null> {
    return (await this.checksumFile())?.slice(0, 64) ?? null;
  }

  /** The file as a stream with its size, or null when it is not there. */
  async open(): Promise<{ stream: ReadStream; size: number } | null> {
    const info = await stat(this.path).catch(() => null);
    if (info === null || !info.isFile()) return null;
    return { stream: createReadStream(this.path), size: info.size };
  }
}
