import { ParseUUIDPipe } from '@nestjs/common';

/** Every `:id` in the API is a v4 UUID: anything else is a 400 before any lookup. */
export const UUID_PARAM = new ParseUUIDPipe({ version: '4' });
