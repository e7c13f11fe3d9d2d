import { ArgumentMetadata, BadRequestException, Injectable, PipeTransform, ValidationPipe } from '@nestjs/common';

/**
 * Every DTO body and query is validated: unknown fields are refused (not silently dropped), wrong types are named,
 * and a body that is not a JSON object at all (an array, a string) is a 400 before class-transformer sees it.
 */
@Injectable()
export class StrictValidationPipe implements PipeTransform {
  private readonly inner = new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
  });

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = typeof metadata.metatype === 'function' && ![String, Number, Boolean, Object, Array].includes(metadata.metatype as never);
    if (isDto && (metadata.type === 'body' || metadata.type === 'query')) {
      if (value === undefined && metadata.type === 'body') throw new BadRequestException('request body must be a JSON object');
      if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
        throw new BadRequestException(`${metadata.type === 'body' ? 'request body' : 'query'} must be a JSON object`);
      }
    }
    return this.inner.transform(value, metadata);
  }
}
