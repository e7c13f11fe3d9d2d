import { Body, Controller, HttpCode, Inject, NotFoundException, Put } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsDateString } from 'class-validator';
import { Allow } from '../auth/allow.decorator';
import { CLOCK, Clock, ManualClock } from './clock';
import { ScheduleService } from './schedule.service';

export class SetClockDto {
  @IsDateString() now!: string;
}

/**
 * Moves the scheduler's clock. Exists only with SCHEDULER_CLOCK=manual (tests); otherwise every call is a 404, as
 * if the route were not there.
 */
@ApiExcludeController()
@Controller('api/v1/test-clock')
export class TestClockController {
  constructor(@Inject(CLOCK) private readonly clock: Clock, private readonly schedules: ScheduleService) {}

  @Put()
  @HttpCode(200)
  @Allow({ user: true })
  async set(@Body() body: SetClockDto): Promise<{ now: string }> {
    if (!(this.clock instanceof ManualClock)) throw new NotFoundException();
    this.clock.set(new Date(body.now));
    await this.schedules.syncAll();
    return { now: this.clock.now().toISOString() };
  }
}
