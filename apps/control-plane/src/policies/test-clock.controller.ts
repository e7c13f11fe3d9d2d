import { Body, Controller, HttpCode, Inject, Put } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsTimestamp } from '@meshgate/contracts';
import { Allow } from '../auth/allow.decorator';
import { CLOCK, ManualClock } from './clock';
import { ScheduleService } from './schedule.service';

export class SetClockDto {
  @IsTimestamp() now!: string;
}

/** Moves the scheduler's clock. Registered only with SCHEDULER_CLOCK=manual (tests): see PoliciesModule. */
@ApiExcludeController()
@Controller('api/v1/test-clock')
export class TestClockController {
  constructor(@Inject(CLOCK) private readonly clock: ManualClock, private readonly schedules: ScheduleService) {}

  @Put()
  @HttpCode(200)
  @Allow({ user: true })
  async set(@Body() body: SetClockDto): Promise<{ now: string }> {
    this.clock.set(new Date(body.now));
    await this.schedules.syncAll();
    return { now: this.clock.now().toISOString() };
  }
}
