import { Controller, Get, Header, Inject, NotFoundException, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppConfig, APP_CONFIG } from '../config/app-config';
import { AgentArtifact } from './agent-artifact';
import { installScript } from './install-script';

const NOT_BUILT = 'the agent is not built on this control plane: run npm run build:agent (npm run build does)';

/**
 * What a machine needs to join, without credentials (the enrollment key given to the script is the credential):
 * the install script and the agent it downloads and checks.
 */
@ApiTags('downloads')
@Controller()
export class DownloadsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly artifact: AgentArtifact,
  ) {}

  @Get('install.sh')
  @Header('Content-Type', 'text/x-shellscript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: 'The agent installer: curl -fsSL <PUBLIC_URL>/install.sh | sh -s -- --auth-key <enrollment key>' })
  async installScript(): Promise<string> {
    if (this.config.publicUrl === null) {
      throw new NotFoundException('no install script: set PUBLIC_URL to the URL agents reach this control plane at');
    }
    const sha256 = await this.artifact.sha256();
    if (sha256 === null) throw new NotFoundException(NOT_BUILT);
    return installScript({ controlPlaneUrl: this.config.publicUrl, agentSha256: sha256 });
  }

  @Get('downloads/meshgate-agent.js')
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: 'The agent: one JavaScript file for Node.js >= 20' })
  async agent(): Promise<StreamableFile> {
    const file = await this.artifact.open();
    if (file === null) throw new NotFoundException(NOT_BUILT);
    return new StreamableFile(file.stream, { type: 'application/javascript; charset=utf-8', length: file.size, disposition: 'attachment; filename="meshgate-agent.js"' });
  }

  @Get('downloads/meshgate-agent.js.sha256')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({ summary: "The agent's sha256, as sha256sum -c reads it" })
  async checksum(): Promise<string> {
    const text = await this.artifact.checksumFile();
    if (text === null) throw new NotFoundException(NOT_BUILT);
    return text;
  }
}
