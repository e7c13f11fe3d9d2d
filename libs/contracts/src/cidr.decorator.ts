import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';
import { isCidr } from './ip';

/** An IPv4 or IPv6 prefix with its length (`10.1.0.0/24`, `fd00::/64`, `0.0.0.0/0`), checked by the one IP helper. */
export const IsCidr = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy({
    name: 'isCidr',
    validator: {
      validate: (value) => typeof value === 'string' && isCidr(value),
      defaultMessage: buildMessage((each) => `${each}$property must be an IPv4 or IPv6 prefix such as 10.1.0.0/24`, options),
    },
  }, options);
