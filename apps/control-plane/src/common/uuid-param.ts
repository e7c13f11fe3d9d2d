import { BadRequestException, ParseUUIDPipe } from '@nestjs/common';

/** Every `:id` in the API is a v4 UUID: anything else is a 400 before any lookup. */
export const UUID_PARAM = new ParseUUIDPipe({ version: '4' });

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/** Node names as registered (NODE_NAME_PATTERN of the contracts): lowercase, so never a UUID's shape by accident. */
const NODE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A node's `:id` may be its id (a v4 UUID) or its name (unique per tenant among live nodes); anything else is a 400
 * before any lookup. The controller resolves a name to the id within the caller's tenant.
 */
export const NODE_REF_PARAM = {
  transform(value: unknown): string {
    if (typeof value === 'string' && (UUID_V4.test(value) || (NODE_NAME.test(value) && !/^[0-9a-f]{8}-/.test(value)))) return value;
    throw new BadRequestException('id must be a node id (UUID) or a node name (lowercase letters, digits and dashes)');
  },
};
